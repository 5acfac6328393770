<?php
/**
 * What `wp keybridge …` commands share: reading secrets, printing results, exit codes.
 *
 * @package Keybridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Input and output for the WP-CLI commands.
 *
 * Secrets never come as arguments: an argument is in the shell history and, while the command
 * runs, in the process list of every user of the host. They come from stdin, a prompt that
 * does not echo, or a file.
 */
class Keybridge_CLI_IO {

	/**
	 * Reads a secret the command was asked to take: `--<flag>` (stdin, or a hidden prompt on a
	 * terminal) or `--<flag>-file=<file>`. `--<flag>=<value>` is refused before anything is
	 * sent, so a command line that holds a secret never works by accident.
	 *
	 * @param array  $assoc_args The command's options.
	 * @param string $flag       Option name, e.g. `password`.
	 * @param string $prompt     The prompt on a terminal, e.g. `Account password`.
	 * @return string|null The secret, or null when neither option was given.
	 */
	public static function secret( array $assoc_args, $flag, $prompt ) {
		if ( isset( $assoc_args[ $flag ] ) && true !== $assoc_args[ $flag ] ) {
			WP_CLI::error(
				sprintf(
					'invalid-field: --%1$s takes no value on the command line (other users of this host could read it there): give --%1$s alone and type it or pipe it on stdin, or use --%1$s-file=<file>.',
					$flag
				)
			);
		}
		$file = isset( $assoc_args[ $flag . '-file' ] ) ? (string) $assoc_args[ $flag . '-file' ] : null;
		if ( null !== $file ) {
			if ( ! is_readable( $file ) || is_dir( $file ) ) {
				WP_CLI::error( sprintf( 'invalid-field: cannot read --%s-file %s', $flag, $file ) );
			}
			// phpcs:ignore WordPress.WP.AlternativeFunctions.file_get_contents_file_get_contents -- a local file.
			return self::without_final_newline( (string) file_get_contents( $file ) );
		}
		if ( ! isset( $assoc_args[ $flag ] ) ) {
			return null;
		}
		if ( function_exists( 'posix_isatty' ) && posix_isatty( STDIN ) ) {
			return (string) \cli\prompt( $prompt, false, ': ', true );
		}
		// phpcs:ignore WordPress.WP.AlternativeFunctions.file_get_contents_file_get_contents -- stdin.
		return self::without_final_newline( (string) file_get_contents( 'php://stdin' ) );
	}

	/**
	 * Prints one result: as the given --format (table, json, csv, yaml), else as a success line.
	 *
	 * @param array  $assoc_args The command's options.
	 * @param array  $item       The result's fields.
	 * @param string $message    The success line without --format.
	 * @return void
	 */
	public static function result( array $assoc_args, array $item, $message ) {
		$format = WP_CLI\Utils\get_flag_value( $assoc_args, 'format', null );
		if ( null === $format ) {
			WP_CLI::success( $message );
			return;
		}
		WP_CLI\Utils\format_items( $format, array( $item ), array_keys( $item ) );
	}

	/**
	 * `echo secret | wp …` and files written by editors end in a newline that is not the secret's.
	 *
	 * @param string $text What was read.
	 * @return string
	 */
	private static function without_final_newline( $text ) {
		if ( "\r\n" === substr( $text, -2 ) ) {
			return substr( $text, 0, -2 );
		}
		return "\n" === substr( $text, -1 ) ? substr( $text, 0, -1 ) : $text;
	}
}
