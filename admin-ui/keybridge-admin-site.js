/*
 * keybridge admin screen, the site's own panels: protected options, constants defined from
 * keys, and who read each key. Loaded after keybridge-admin.js on a site's settings page (not
 * on a network's page), through `window.keybridgeAdminUi`. Same rules as the main bundle:
 * server strings go in as text only; no value or KEK ever comes to the page (these
 * operations answer names, states and counts).
 */
(function () {
  'use strict';

  var ui = window.keybridgeAdminUi;
  if (!ui || !ui.config.siteOperations) {
    return;
  }
  var el = ui.el;
  var strings = ui.strings;
  var tableClass = ui.cls(ui.classes.table || 'widefat striped');

  /** A section with a heading, a note line and a table whose body is filled by `render`. */
  function panel(className, heading, columns) {
    var body = el('tbody');
    var note = el('p', { className: 'kb-panel-note' });
    var table = el('table', { className: ui.cls(tableClass, className + '-table'), hidden: true }, [
      el('thead', {}, [
        el(
          'tr',
          {},
          columns.map(function (column) {
            return el('th', { scope: 'col', textContent: strings[column] || column });
          }),
        ),
      ]),
      body,
    ]);
    var section = el('section', { className: 'kb-section ' + className }, [el('h2', { textContent: heading }), note, table]);
    return {
      section: section,
      note: note,
      /** Rows as arrays of cells (strings or nodes); an empty list shows `empty` instead. */
      fill: function (rows, empty) {
        body.textContent = '';
        table.hidden = rows.length === 0;
        note.textContent = rows.length === 0 ? empty : '';
        rows.forEach(function (cells) {
          body.appendChild(
            el(
              'tr',
              cells.attributes || {},
              cells.map(function (cell) {
                return cell instanceof Node ? el('td', {}, [cell]) : el('td', { textContent: String(cell) });
              }),
            ),
          );
        });
      },
    };
  }

  function code(text) {
    return el('code', { textContent: text });
  }

  /** A button that runs `operation` after an inline confirmation, then refreshes the page. */
  function confirmedAction(label, question, operation, body) {
    var cell = el('span', { className: 'kb-actions' });
    var start = ui.button(label, ui.cls(ui.classes.button || 'button'), function () {
      ui.confirmStep(cell, question, label, run, reset);
    });
    function reset() {
      cell.textContent = '';
      cell.appendChild(start);
    }
    function run(trigger) {
      ui.clearMessages();
      ui.busy(trigger, true);
      ui.call(operation, body).then(
        function (answer) {
          ui.showSuccess(ui.format(ui.config.successMessages[operation] || strings.done, answer.option || answer.constant || ''));
          return ui.refresh();
        },
        function (problem) {
          ui.busy(trigger, false);
          ui.showError(problem);
        },
      );
    }
    reset();
    return cell;
  }

  // ---- protected options and constants --------------------------------------------------

  var options = panel('kb-options', strings.optionsHeading, ['option', 'key', 'actions']);
  var constants = panel('kb-constants', strings.constantsHeading, ['constant', 'key', 'constantState', 'actions']);
  var loader = el('div', { className: ui.cls(ui.classes.notice || 'notice inline', 'notice-warning', 'kb-loader'), hidden: true });
  constants.section.insertBefore(loader, constants.note);
  // Each list above the form that adds to it.
  ui.addToSection('options', options.section, document.getElementById('kb-form-protect'));
  ui.addToSection('options', constants.section, document.getElementById('kb-form-constant'));

  var STATES = {
    defined: 'stateDefined',
    kept: 'stateKept',
    failed: 'stateFailed',
    denied: 'stateDenied',
    'not-loaded': 'stateNotLoaded',
  };

  function renderOptions(answer) {
    options.fill(
      (answer.options || []).map(function (item) {
        var row = [
          code(item.option),
          code(item.key),
          confirmedAction(strings.unprotect, ui.format(strings.confirmUnprotect, item.option), 'options.unprotect', {
            option: item.option,
          }),
        ];
        row.attributes = { 'data-option': item.option };
        return row;
      }),
      strings.noOptions,
    );
  }

  function renderConstants(answer) {
    constants.fill(
      (answer.constants || []).map(function (item) {
        var state = el('span', {
          className: 'kb-constant-state kb-constant-' + item.state,
          textContent: strings[STATES[item.state]] || item.state,
        });
        var row = [
          code(item.constant),
          code(item.key),
          state,
          confirmedAction(strings.remove, strings.remove + ' ' + item.constant + '?', 'constants.unmap', { constant: item.constant }),
        ];
        row.attributes = { 'data-constant': item.constant, 'data-state': item.state };
        return row;
      }),
      strings.noConstants,
    );
    loader.textContent = '';
    loader.hidden = answer.loader_installed || (answer.constants || []).length === 0;
    if (!loader.hidden) {
      loader.appendChild(el('p', { textContent: ui.format(strings.loaderMissing, answer.loader_path) }));
      var install = ui.button(
        strings.installLoader,
        ui.cls(ui.classes.primary || 'button button-primary', 'kb-install-loader'),
        function () {
          ui.clearMessages();
          ui.busy(install, true);
          ui.call('constants.install', {}).then(
            function () {
              ui.showSuccess(ui.config.successMessages['constants.install'] || strings.done);
              return ui.refresh();
            },
            function (problem) {
              ui.busy(install, false);
              ui.showError(problem);
            },
          );
        },
      );
      loader.appendChild(el('p', {}, [install]));
    }
  }

  // ---- who read each key -----------------------------------------------------------------

  var usage = panel('kb-usage', strings.usageHeading, ['name', 'caller', 'reads', 'denied', 'lastRead', 'allowedCallers']);
  // Who read each key, then the form that says who may.
  ui.addToSection('keys', usage.section, document.getElementById('kb-form-access'));

  function renderUsage(answer) {
    var allowed = {};
    (answer.allow || []).forEach(function (item) {
      allowed[item.name] = item.callers.join(' ');
    });
    var rows = (answer.usage || []).map(function (item) {
      var row = [
        code(item.name),
        code(item.caller),
        item.reads,
        item.denied,
        el('time', { datetime: item.last_read_at, textContent: ui.formatDate(item.last_read_at) }),
        allowed[item.name] || strings.anyCaller,
      ];
      row.attributes = { 'data-key': item.name, 'data-caller': item.caller };
      return row;
    });
    usage.fill(rows, answer.counting === 'apcu' ? strings.noUsage : strings.usageAuditOnly);
    if (rows.length > 0 && answer.counting !== 'apcu') {
      usage.note.textContent = strings.usageAuditOnly;
    }
  }

  function failed(target) {
    return function (problem) {
      target.fill([], problem.title);
    };
  }

  ui.onRefresh(function (status) {
    var calls = [
      ui.call('options.list', {}).then(renderOptions, failed(options)),
      ui.call('constants.list', {}).then(renderConstants, failed(constants)),
    ];
    usage.section.hidden = !status.registered;
    if (status.registered) {
      calls.push(ui.call('usage.list', {}).then(renderUsage, failed(usage)));
    }
    return Promise.all(calls);
  });
})();
