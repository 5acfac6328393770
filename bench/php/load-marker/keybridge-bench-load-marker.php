<?php
/**
 * Plugin Name: keybridge bench: load marker
 * Description: Does nothing. bench/php/page-requests.ts activates it on the bench's own fixture
 * so that it loads just before keybridge (active plugins load in name order): the time from its
 * plugin_loaded action to keybridge's is what loading keybridge costs a request.
 *
 * @package keybridge
 */
