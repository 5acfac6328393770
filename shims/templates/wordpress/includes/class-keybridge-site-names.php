<?php
/**
 * Key names per site of a multisite network.
 *
 * @package Keybridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * One agent and one vault serve a whole network, so each site's names are kept apart in the
 * vault: on a multisite install every name a site uses goes to the agent as
 * `site-<blog id>/<name>`, and comes back from listings only when it carries the current
 * site's prefix (which is then taken off). A single site uses names as they are.
 *
 * Why every site, the main one included, gets a prefix: a prefix that ends in "/" followed by
 * whatever the site typed cannot be spelled by another site's input — `site-2/site-3/x` is
 * still site 2's — whereas an unprefixed main site could type `site-3/x` itself. The agent's
 * own name rules (NFC, refusals) work on whole names and cannot move the ASCII prefix.
 */
class Keybridge_Site_Names {

	/**
	 * What every agent-side name of a network's site starts with, before the blog id.
	 */
	const PREFIX = 'site-';

	/**
	 * The name the agent keeps for a name this site uses.
	 *
	 * @param string $name Key name as the site uses it.
	 * @return string
	 */
	public static function to_agent( $name ) {
		return is_multisite() ? self::prefix() . $name : (string) $name;
	}

	/**
	 * The site's name for a name the agent listed, or null when it belongs to another site of
	 * the network (or to no site: a name set outside WordPress).
	 *
	 * @param string $agent_name Name as the agent gave it.
	 * @return string|null
	 */
	public static function from_agent( $agent_name ) {
		$agent_name = (string) $agent_name;
		if ( ! is_multisite() ) {
			return $agent_name;
		}
		$prefix = self::prefix();
		return 0 === strpos( $agent_name, $prefix ) && strlen( $agent_name ) > strlen( $prefix ) ? (string) substr( $agent_name, strlen( $prefix ) ) : null;
	}

	/**
	 * The current site's prefix on a network ('' on a single site).
	 *
	 * @return string
	 */
	public static function prefix() {
		return is_multisite() ? self::PREFIX . get_current_blog_id() . '/' : '';
	}
}
