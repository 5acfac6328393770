<?php
/**
 * Key-name rules, the same as the agent's.
 *
 * @package Keybridge
 */

/**
 * The rules of sidecar/src/agent/keys/names.ts, on the same Unicode tables
 * (Keybridge_Name_Tables, generated from the agent's), held to the same shared vectors
 * (sidecar/src/agent/keys/names.vectors.json) by PHPUnit. The agent stays the authority:
 * it checks every name again, and only it can refuse a name that looks like another key of
 * the vault (`name-confusable`). Checking here first gives the same answer without a round trip.
 *
 * Every name: Unicode NFC (with the intl extension; without it a name is taken as given and
 * the agent normalises it), 1 to 200 characters of letters, marks, digits and `_ . : @ -` in
 * `/`-separated segments, no empty, `.` or `..` segment, no whitespace, control or format
 * character. A name being written, on top: Identifier_Status=Allowed for every character but
 * the syntax's, no segment starting with a combining mark, one script per segment (Latin may
 * go with Han and kana, Bopomofo or Hangul).
 */
final class Keybridge_Names {

	const MAX_LENGTH = 200;

	const MAX_LABEL_LENGTH = 200;

	/**
	 * Latin may be mixed with these writing systems (UTS #39 "highly restrictive").
	 */
	const LATIN_COMPANIONS = array( 'Jpan', 'Hanb', 'Kore' );

	/**
	 * The parsed tables: allowed ranges, script ranges, confusables (null until first needed).
	 *
	 * @var array|null
	 */
	private static $tables = null;

	/**
	 * The name as the agent keeps it: NFC when PHP has intl, else as given.
	 *
	 * @param string $name Key name.
	 * @return string
	 */
	public static function normalize( $name ) {
		$name = (string) $name;
		// ASCII is NFC already: most names skip the Normalizer.
		if ( 1 !== preg_match( '/[\x80-\xff]/', $name ) || ! class_exists( 'Normalizer' ) ) {
			return $name;
		}
		$normalized = Normalizer::normalize( $name, Normalizer::FORM_C );
		return is_string( $normalized ) ? $normalized : $name;
	}

	/**
	 * A name about to be written, checked: the name as it will be stored.
	 *
	 * @param mixed  $name  Key name.
	 * @param string $field The request field, for the exception.
	 * @return string
	 * @throws Keybridge_Exception Type `invalid-name` saying which rule the name breaks.
	 */
	public static function check_new( $name, $field = 'name' ) {
		$problem = self::new_name_problem( $name );
		if ( null !== $problem ) {
			throw new Keybridge_Exception( 'invalid-name', 'The key name is invalid: ' . $problem['detail'], 422, $field );
		}
		return self::normalize( $name );
	}

	/**
	 * What is wrong with a name already stored (reads, deletes), or null.
	 *
	 * @param mixed $name Key name.
	 * @return array|null `rule` (as in names.vectors.json) and `detail`, or null when it passes.
	 */
	public static function existing_name_problem( $name ) {
		if ( ! is_string( $name ) ) {
			return self::problem( 'type', 'must be a string' );
		}
		if ( '' === $name ) {
			return self::problem( 'length', 'must not be empty' );
		}
		if ( strlen( $name ) > self::MAX_LENGTH * 16 ) {
			return self::problem( 'length', 'must be at most ' . self::MAX_LENGTH . ' characters' );
		}
		if ( 1 !== preg_match( '//u', $name ) ) {
			return self::problem( 'unicode', 'must be valid UTF-8 text' );
		}
		$name = self::normalize( $name );
		if ( count( self::characters( $name ) ) > self::MAX_LENGTH ) {
			return self::problem( 'length', 'must be at most ' . self::MAX_LENGTH . ' characters' );
		}
		if ( 1 === preg_match( '/[\p{Cc}\p{Cf}\p{Z}\s]/u', $name ) ) {
			return self::problem( 'invisible', 'must not contain whitespace, control or invisible characters' );
		}
		foreach ( explode( '/', $name ) as $segment ) {
			if ( '' === $segment || '.' === $segment || '..' === $segment ) {
				return self::problem( 'segment', 'must not contain empty, "." or ".." segments' );
			}
			if ( 1 !== preg_match( '/^[\p{L}\p{M}\p{N}_.:@-]+$/u', $segment ) ) {
				return self::problem( 'syntax', 'may contain only letters, digits and _ . : @ - /' );
			}
		}
		return null;
	}

	/**
	 * What is wrong with a name about to be written, or null.
	 *
	 * @param mixed $name Key name.
	 * @return array|null `rule` (as in names.vectors.json) and `detail`, or null when it passes.
	 */
	public static function new_name_problem( $name ) {
		$problem = self::existing_name_problem( $name );
		if ( null !== $problem ) {
			return $problem;
		}
		$name = self::normalize( $name );
		foreach ( self::characters( $name ) as $char ) {
			if ( false !== strpos( '_.:@-/', $char ) ) {
				continue;
			}
			$point = self::code_point( $char );
			if ( ! self::in_ranges( self::tables()['allowed'], $point ) ) {
				return self::problem( 'identifier-status', 'contains ' . self::u( $point ) . ', which Unicode does not recommend in identifiers (invisible, look-alike and rarely used characters are refused)' );
			}
			if ( 1 !== preg_match( '/^[\p{L}\p{M}\p{N}]$/u', $char ) ) {
				return self::problem( 'syntax', 'contains ' . self::u( $point ) . ': may contain only letters, digits and _ . : @ - /' );
			}
		}
		foreach ( explode( '/', $name ) as $segment ) {
			$first = self::characters( $segment )[0];
			if ( 1 === preg_match( '/^\p{M}$/u', $first ) ) {
				return self::problem( 'combining-start', 'a segment must not start with a combining mark (' . self::u( self::code_point( $first ) ) . ')' );
			}
			$scripts = self::mixed_scripts( $segment );
			if ( null !== $scripts ) {
				return self::problem( 'mixed-script', 'mixes scripts that look alike in one segment (' . implode( ', ', $scripts ) . '): write each segment in one script' );
			}
		}
		return null;
	}

	/**
	 * UTS #39 skeleton of a checked name: names with the same skeleton look alike. Needs intl.
	 *
	 * @param string $name A name that passed check_new().
	 * @return string
	 * @throws Keybridge_Exception Type `not-configured` without the intl extension.
	 */
	public static function skeleton( $name ) {
		if ( ! class_exists( 'Normalizer' ) ) {
			throw new Keybridge_Exception( 'not-configured', 'Comparing key names needs the PHP intl extension.' );
		}
		$confusables = self::tables()['confusables'];
		$mapped      = '';
		foreach ( self::characters( (string) Normalizer::normalize( $name, Normalizer::FORM_D ) ) as $char ) {
			$point   = self::code_point( $char );
			$mapped .= isset( $confusables[ $point ] ) ? $confusables[ $point ] : $char;
		}
		return (string) Normalizer::normalize( $mapped, Normalizer::FORM_D );
	}

	/**
	 * A label: free text without control or bidi control characters, at most 200 characters.
	 *
	 * @param mixed  $label The label.
	 * @param string $field The request field, for the exception.
	 * @return string
	 * @throws Keybridge_Exception Type `invalid-field`.
	 */
	public static function check_label( $label, $field = 'label' ) {
		if ( ! is_string( $label ) || 1 !== preg_match( '//u', $label ) || count( self::characters( $label ) ) > self::MAX_LABEL_LENGTH
			|| 1 === preg_match( '/[\p{Cc}\x{061C}\x{200E}\x{200F}\x{202A}-\x{202E}\x{2066}-\x{2069}]/u', $label ) ) {
			throw new Keybridge_Exception( 'invalid-field', 'A request field is invalid: must be a string of at most ' . self::MAX_LABEL_LENGTH . ' characters without control or bidi control characters', 422, $field );
		}
		return $label;
	}

	/**
	 * UTS #39 "highly restrictive": null when the segment resolves to one script, or to Latin
	 * with Han and kana, Bopomofo or Hangul; else the scripts found.
	 *
	 * @param string $segment One segment of a name.
	 * @return string[]|null
	 */
	private static function mixed_scripts( $segment ) {
		$resolved      = null;
		$without_latin = null;
		$seen          = array();
		foreach ( self::characters( $segment ) as $char ) {
			$scripts = self::scripts_of( self::code_point( $char ) );
			if ( null === $scripts ) {
				continue;
			}
			$seen[ $scripts[0] ] = true;
			$resolved            = null === $resolved ? $scripts : array_values( array_intersect( $resolved, $scripts ) );
			if ( ! in_array( 'Latn', $scripts, true ) ) {
				$without_latin = null === $without_latin ? $scripts : array_values( array_intersect( $without_latin, $scripts ) );
			}
		}
		if ( null === $resolved || array() !== $resolved ) {
			return null;
		}
		if ( null === $without_latin || array() !== array_intersect( self::LATIN_COMPANIONS, $without_latin ) ) {
			return null;
		}
		$found = array_keys( $seen );
		sort( $found );
		return $found;
	}

	/**
	 * The augmented script set of an allowed character, or null for one of every script.
	 *
	 * @param int $point Code point.
	 * @return string[]|null
	 */
	private static function scripts_of( $point ) {
		$tables = self::tables();
		$at     = self::find_range( $tables['scripts'], $point );
		return -1 === $at ? null : Keybridge_Name_Tables::SCRIPT_SETS[ $tables['scripts'][ $at ][2] ];
	}

	/**
	 * Whether a code point lies in one of the sorted ranges.
	 *
	 * @param array $ranges Sorted array( first, last ) pairs.
	 * @param int   $point  Code point.
	 * @return bool
	 */
	private static function in_ranges( array $ranges, $point ) {
		return -1 !== self::find_range( $ranges, $point );
	}

	/**
	 * Binary search: the index of the range holding the code point, or -1.
	 *
	 * @param array $ranges Sorted arrays whose first two items are first and last.
	 * @param int   $point  Code point.
	 * @return int
	 */
	private static function find_range( array $ranges, $point ) {
		$low  = 0;
		$high = count( $ranges ) - 1;
		while ( $low <= $high ) {
			$middle = ( $low + $high ) >> 1;
			if ( $point < $ranges[ $middle ][0] ) {
				$high = $middle - 1;
			} elseif ( $point > $ranges[ $middle ][1] ) {
				$low = $middle + 1;
			} else {
				return $middle;
			}
		}
		return -1;
	}

	/**
	 * Keybridge_Name_Tables parsed once per request.
	 *
	 * @return array
	 */
	private static function tables() {
		if ( null === self::$tables ) {
			$allowed = array();
			foreach ( self::items( Keybridge_Name_Tables::ALLOWED ) as $item ) {
				$allowed[] = self::parse_range( $item );
			}
			$scripts = array();
			foreach ( self::items( Keybridge_Name_Tables::SCRIPTS ) as $item ) {
				list( $range, $set ) = explode( ':', $item );
				$scripts[]           = array_merge( self::parse_range( $range ), array( (int) $set ) );
			}
			$confusables = array();
			foreach ( self::items( Keybridge_Name_Tables::CONFUSABLES ) as $item ) {
				list( $source, $prototype ) = explode( '=', $item );
				$text                       = '';
				foreach ( explode( '+', $prototype ) as $hex ) {
					$text .= self::utf8( hexdec( $hex ) );
				}
				$confusables[ hexdec( $source ) ] = $text;
			}
			self::$tables = array(
				'allowed'     => $allowed,
				'scripts'     => $scripts,
				'confusables' => $confusables,
			);
		}
		return self::$tables;
	}

	/**
	 * The space-separated items of a table string.
	 *
	 * @param string $table A Keybridge_Name_Tables constant.
	 * @return string[]
	 */
	private static function items( $table ) {
		return preg_split( '/ +/', trim( $table ) );
	}

	/**
	 * `0041..005A` or `0041` as array( first, last ).
	 *
	 * @param string $item A range.
	 * @return int[]
	 */
	private static function parse_range( $item ) {
		$ends = explode( '..', $item );
		return array( hexdec( $ends[0] ), hexdec( isset( $ends[1] ) ? $ends[1] : $ends[0] ) );
	}

	/**
	 * The characters of valid UTF-8 text.
	 *
	 * @param string $text UTF-8 text.
	 * @return string[]
	 */
	private static function characters( $text ) {
		return preg_split( '//u', $text, -1, PREG_SPLIT_NO_EMPTY );
	}

	/**
	 * The code point of one UTF-8 character (already checked to be valid UTF-8).
	 *
	 * @param string $char One character.
	 * @return int
	 */
	private static function code_point( $char ) {
		$bytes = array_values( unpack( 'C*', $char ) );
		switch ( count( $bytes ) ) {
			case 1:
				return $bytes[0];
			case 2:
				return ( ( $bytes[0] & 0x1f ) << 6 ) | ( $bytes[1] & 0x3f );
			case 3:
				return ( ( $bytes[0] & 0x0f ) << 12 ) | ( ( $bytes[1] & 0x3f ) << 6 ) | ( $bytes[2] & 0x3f );
			default:
				return ( ( $bytes[0] & 0x07 ) << 18 ) | ( ( $bytes[1] & 0x3f ) << 12 ) | ( ( $bytes[2] & 0x3f ) << 6 ) | ( $bytes[3] & 0x3f );
		}
	}

	/**
	 * One code point as UTF-8 (the inverse of code_point()).
	 *
	 * @param int $point Code point.
	 * @return string
	 */
	private static function utf8( $point ) {
		if ( $point < 0x80 ) {
			return chr( $point );
		}
		if ( $point < 0x800 ) {
			return chr( 0xc0 | ( $point >> 6 ) ) . chr( 0x80 | ( $point & 0x3f ) );
		}
		if ( $point < 0x10000 ) {
			return chr( 0xe0 | ( $point >> 12 ) ) . chr( 0x80 | ( ( $point >> 6 ) & 0x3f ) ) . chr( 0x80 | ( $point & 0x3f ) );
		}
		return chr( 0xf0 | ( $point >> 18 ) ) . chr( 0x80 | ( ( $point >> 12 ) & 0x3f ) ) . chr( 0x80 | ( ( $point >> 6 ) & 0x3f ) ) . chr( 0x80 | ( $point & 0x3f ) );
	}

	/**
	 * `U+0041`.
	 *
	 * @param int $point Code point.
	 * @return string
	 */
	private static function u( $point ) {
		return 'U+' . strtoupper( str_pad( dechex( $point ), 4, '0', STR_PAD_LEFT ) );
	}

	/**
	 * A problem array.
	 *
	 * @param string $rule   The rule broken.
	 * @param string $detail What is wrong.
	 * @return array
	 */
	private static function problem( $rule, $detail ) {
		return array(
			'rule'   => $rule,
			'detail' => $detail,
		);
	}
}
