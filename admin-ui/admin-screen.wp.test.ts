/**
 * The admin screen in a real WordPress (fixtures/wordpress, KEYBRIDGE_WP_ENV), with Debian's
 * Chromium through playwright-core. One test file for its suites because they share the
 * site and their order matters: vitest orders files by past duration and size, not by name,
 * while the suites of one file run in the order they are imported.
 *
 *   flow        an unregistered site: register, add, rotate, generate, delete (must run first)
 *   rest        the REST route's refusals (nonce, subscriber, operations, fields)
 *   values      64 KiB values, names and labels WordPress would mangle, no XSS
 *   panels      tabs, masked secrets, protected options and constants from the page, usage
 *   no-script   the page without JavaScript: PHP's status table, configuration, no token
 *   agent-down  the page with the agent stopped, then started again
 */
import './flow.suite.ts';
import './rest.suite.ts';
import './values.suite.ts';
import './site-panels.suite.ts';
import './no-script.suite.ts';
import './agent-down.suite.ts';
