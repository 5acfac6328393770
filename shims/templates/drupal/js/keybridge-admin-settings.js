/**
 * @file
 * Hands the page's drupalSettings.keybridgeAdmin to the shared admin-ui bundle, which reads
 * window.keybridgeAdmin (the same bundle runs in WordPress, where no drupalSettings exist).
 */
/* global window */
((drupalSettings) => {
  window.keybridgeAdmin = drupalSettings.keybridgeAdmin;
})(window.drupalSettings);
