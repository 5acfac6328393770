/*
 * keybridge admin screen: the status table, the keys and the forms of shims/spec.yaml, in tabs.
 *
 * Framework-free, no build step, the same for every CMS. The CMS page defines
 * `window.keybridgeAdmin` (endpoint, headers with its nonce, tabs, translated status rows,
 * forms, strings and its own CSS classes) and an element `#keybridge-admin`; this file fills
 * it, and hands what a CMS's own panels need (keybridge-admin-site.js: protected options,
 * constants, usage) to `window.keybridgeAdminUi`.
 *
 * Rules this file keeps (a security review reads them here):
 * - every server string goes into the page with textContent, never as HTML;
 * - operations go in the request body to the CMS's own route, never a value in a URL;
 * - a key value lives only in its input field and the request body: the field is
 *   cleared after a save and nothing here keeps it in a variable that outlives the call.
 */
(function () {
  'use strict';

  var config = window.keybridgeAdmin;
  var root = document.getElementById('keybridge-admin');
  if (!config || !root) {
    return;
  }

  var classes = config.classes || {};
  var strings = Object.assign(
    {
      statusHeading: 'Status',
      keysHeading: 'Keys',
      check: 'Check',
      state: 'State',
      value: 'Value',
      help: 'What to do',
      ok: 'OK',
      warning: 'Warning',
      error: 'Error',
      loading: 'Loading…',
      agentDown: 'The keybridge agent cannot be reached, so keys cannot be read or changed. Start the agent, then reload this page.',
      keysUnavailable: 'The keys cannot be listed: %s',
      noKeys: 'No keys are stored in this environment yet.',
      moreKeys: 'Show more keys',
      name: 'Name',
      label: 'Label',
      version: 'Version',
      updated: 'Updated',
      reads: 'Reads',
      actions: 'Actions',
      rotate: 'Rotate',
      delete: 'Delete',
      cancel: 'Cancel',
      confirmDelete: 'Delete the key “%s” from this environment? Its value cannot be recovered.',
      keySaved: 'Key “%s” saved.',
      keyGenerated: 'Key “%s” generated.',
      keyRotated: 'Key “%s” rotated.',
      keyDeleted: 'Key “%s” deleted.',
      registered: 'This site is registered.',
      certificateCreated: 'The new certificate is installed.',
      productionIssued: 'This site is now in production.',
      productionPending: 'The move to production waits for the key service operator’s approval.',
      done: 'Done.',
      requestFailed: 'The request failed (HTTP %s).',
      networkFailed: 'The site did not answer. Check your connection and try again.',
      show: 'Show',
      hide: 'Hide',
      showField: 'Show %s',
    },
    config.strings || {},
  );

  var rowTitles = {};
  (config.statusRows || []).forEach(function (row) {
    rowTitles[row.id] = row.title;
  });

  var SEVERITY_GLYPHS = { ok: '✓', warning: '!', error: '✕' };
  var KEY_MESSAGES = { 'keys.set': 'keySaved', 'keys.generate': 'keyGenerated' };
  var OTHER_MESSAGES = { register: 'registered', 'certificates.create': 'certificateCreated' };

  /** "%s" placeholders filled in order; the result is plain text, never markup. */
  function format(template) {
    var args = Array.prototype.slice.call(arguments, 1);
    return String(template).replace(/%s/g, function () {
      return args.length ? String(args.shift()) : '';
    });
  }

  /** A new element; `props` sets DOM properties (textContent, hidden, ...) or attributes ("aria-*"). */
  function el(tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (key) {
      var value = props[key];
      if (value === undefined || value === null || value === false) {
        return;
      }
      if (key === 'className' || key === 'textContent' || key === 'hidden' || key === 'disabled' || key === 'type') {
        node[key] = value;
      } else {
        node.setAttribute(key, value === true ? '' : String(value));
      }
    });
    (children || []).forEach(function (child) {
      if (child) {
        node.appendChild(child);
      }
    });
    return node;
  }

  function cls() {
    return Array.prototype.filter.call(arguments, Boolean).join(' ');
  }

  // ---- talking to the CMS route ------------------------------------------------------

  /** POSTs one operation; resolves with the answer, rejects with a problem {title, detail, field, status}. */
  function call(operation, body) {
    var headers = Object.assign({ 'Content-Type': 'application/json', Accept: 'application/json' }, config.headers || {});
    return fetch(config.endpoint + operation, {
      method: 'POST',
      headers: headers,
      credentials: 'same-origin',
      cache: 'no-store',
      body: JSON.stringify(body || {}),
    }).then(
      function (response) {
        return response.text().then(function (text) {
          var data;
          try {
            data = text ? JSON.parse(text) : {};
          } catch (ignored) {
            data = null;
          }
          if (response.ok && data && typeof data === 'object') {
            return data;
          }
          throw toProblem(response.status, data);
        });
      },
      function () {
        throw { title: strings.networkFailed, status: 0 };
      },
    );
  }

  /** The route answers problem+json; WordPress itself (nonce, capability) answers {code, message}. */
  function toProblem(status, data) {
    if (data && typeof data === 'object' && (data.title || data.message)) {
      return {
        title: String(data.title || data.message),
        detail: data.detail ? String(data.detail) : '',
        field: data.field ? String(data.field) : '',
        status: status,
      };
    }
    return { title: format(strings.requestFailed, status), detail: '', field: '', status: status };
  }

  // ---- messages ------------------------------------------------------------------------

  var politeRegion = el('div', { className: 'kb-messages', role: 'status', 'aria-live': 'polite' });
  var alertRegion = el('div', { className: 'kb-messages', role: 'alert' });

  function notice(region, kind, text, detail) {
    region.textContent = '';
    if (!text) {
      return;
    }
    var box = el('div', {
      className: cls(classes.notice || 'notice', classes[kind] || 'notice-' + kind, 'kb-notice', 'kb-notice-' + kind),
    });
    box.appendChild(el('p', { textContent: detail ? text + ' ' + detail : text }));
    region.appendChild(box);
  }

  function showSuccess(text) {
    notice(alertRegion, 'error', '');
    notice(politeRegion, 'success', text);
  }

  /** Clears the last outcome when a new operation starts, so no old message reads as its answer. */
  function clearMessages() {
    notice(politeRegion, 'success', '');
    notice(alertRegion, 'error', '');
  }

  function showError(problem) {
    notice(politeRegion, 'success', '');
    notice(alertRegion, 'error', problem.title, problem.detail);
  }

  // ---- status table --------------------------------------------------------------------

  var statusSection = el('section', { className: 'kb-section kb-status' }, [el('h2', { textContent: strings.statusHeading })]);
  var statusBody = el('tbody');
  statusSection.appendChild(
    el('table', { className: cls(classes.table || 'widefat striped', 'kb-status-table') }, [
      el('thead', {}, [
        el('tr', {}, [
          el('th', { scope: 'col', textContent: strings.check }),
          el('th', { scope: 'col', textContent: strings.state }),
          el('th', { scope: 'col', textContent: strings.value }),
          el('th', { scope: 'col', textContent: strings.help }),
        ]),
      ]),
      statusBody,
    ]),
  );
  statusBody.appendChild(el('tr', {}, [el('td', { colspan: 4, textContent: strings.loading })]));

  /** Severity as a word and a glyph as well as a colour, so it never depends on colour alone. */
  function severityCell(severity) {
    var known = SEVERITY_GLYPHS[severity] ? severity : 'error';
    var icon = classes['icon_' + known]
      ? el('span', { className: classes['icon_' + known], 'aria-hidden': 'true' })
      : el('span', { className: 'kb-glyph', 'aria-hidden': 'true', textContent: SEVERITY_GLYPHS[known] });
    return el('td', { className: 'kb-severity kb-severity-' + known, 'data-severity': known }, [
      icon,
      el('span', { className: 'kb-severity-text', textContent: strings[known] }),
    ]);
  }

  /**
   * The row's help, then what to do on this page: the CMS words the row's action (spec.yaml
   * status_actions) and names the form; a link takes the keyboard and the eye there.
   */
  function helpCell(row) {
    var action = (config.statusActions || {})[row.action];
    var cell = el('td', { className: 'kb-help' }, [row.help ? el('span', { textContent: row.help }) : null]);
    if (!action || row.severity === 'ok') {
      return cell;
    }
    if (row.help) {
      cell.appendChild(document.createTextNode(' '));
    }
    var target = action.form ? formSection(action.form) : null;
    if (target && !target.hidden) {
      var link = el('a', { className: 'kb-action-link', href: '#' + target.id, textContent: action.text });
      link.addEventListener('click', function (event) {
        event.preventDefault();
        showSectionOf(target);
        target.scrollIntoView();
        var first = target.querySelector('input, select, textarea, button');
        if (first) {
          first.focus();
        }
      });
      cell.appendChild(link);
    } else if (action.href) {
      cell.appendChild(el('a', { className: 'kb-action-link', href: action.href, textContent: action.text }));
    } else {
      cell.appendChild(el('span', { className: 'kb-action', textContent: action.text }));
    }
    return cell;
  }

  function renderStatus(status) {
    statusBody.textContent = '';
    (status.rows || []).forEach(function (row) {
      statusBody.appendChild(
        el('tr', { 'data-row': row.id }, [
          el('th', { scope: 'row', textContent: rowTitles[row.id] || row.title }),
          severityCell(row.severity),
          el('td', { className: 'kb-value', textContent: row.value }),
          helpCell(row),
        ]),
      );
    });
  }

  // ---- keys list -----------------------------------------------------------------------

  var keysSection = el('section', { className: 'kb-section kb-keys' }, [el('h2', { textContent: strings.keysHeading })]);
  var keysNote = el('p', { className: 'kb-keys-note' });
  var keysBody = el('tbody');
  var keysTable = el('table', { className: cls(classes.table || 'widefat striped', 'kb-keys-table'), hidden: true }, [
    el('thead', {}, [
      el(
        'tr',
        {},
        ['name', 'label', 'version', 'updated', 'reads', 'actions'].map(function (column) {
          return el('th', { scope: 'col', textContent: strings[column] });
        }),
      ),
    ]),
    keysBody,
  ]);
  // The agent lists keys a page at a time (keys.list limit/cursor); the rest on request.
  var KEYS_PAGE = 100;
  var nextCursor = null;
  var moreKeys = el('button', { type: 'button', className: cls(classes.button || 'button', 'kb-more-keys'), hidden: true });
  moreKeys.textContent = strings.moreKeys;
  moreKeys.addEventListener('click', function () {
    clearMessages();
    busy(moreKeys, true);
    listKeys(nextCursor).then(
      function () {
        busy(moreKeys, false);
      },
      function (problem) {
        busy(moreKeys, false);
        showError(problem);
      },
    );
  });
  keysSection.appendChild(keysNote);
  keysSection.appendChild(keysTable);
  keysSection.appendChild(moreKeys);

  function button(text, className, onClick) {
    var node = el('button', { type: 'button', className: className, textContent: text });
    node.addEventListener('click', onClick);
    return node;
  }

  function formatDate(iso) {
    var date = new Date(iso);
    return isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
  }

  /** One page of keys: the first (cursor null) replaces the table, later ones are appended. */
  function listKeys(cursor) {
    var query = { limit: KEYS_PAGE };
    if (cursor) query.cursor = cursor;
    return call('keys.list', query).then(function (answer) {
      renderKeys(answer.keys || [], Boolean(cursor));
      nextCursor = answer.next_cursor || null;
      moreKeys.hidden = nextCursor === null;
    });
  }

  function renderKeys(keys, append) {
    if (!append) keysBody.textContent = '';
    keysTable.hidden = keysBody.childNodes.length + keys.length === 0;
    keysNote.textContent = keysBody.childNodes.length + keys.length === 0 ? strings.noKeys : '';
    keys.forEach(function (key) {
      var actions = el('td', { className: 'kb-actions' });
      keysBody.appendChild(
        el('tr', { 'data-key': key.name }, [
          el('td', { className: 'kb-key-name' }, [el('code', { textContent: key.name })]),
          el('td', { className: 'kb-key-label', textContent: key.label }),
          el('td', { textContent: String(key.version) }),
          el('td', {}, [el('time', { datetime: key.updated_at, textContent: formatDate(key.updated_at) })]),
          el('td', { textContent: String(key.reads) }),
          actions,
        ]),
      );
      showKeyActions(actions, key.name);
    });
  }

  function showKeyActions(cell, name) {
    cell.textContent = '';
    cell.appendChild(
      button(strings.rotate, cls(classes.button || 'button', 'kb-rotate'), function (event) {
        runKeyAction(event.currentTarget, 'keys.rotate', name, 'keyRotated');
      }),
    );
    cell.appendChild(document.createTextNode(' '));
    cell.appendChild(
      button(strings.delete, cls(classes.button || 'button', 'kb-delete'), function () {
        confirmStep(
          cell,
          format(strings.confirmDelete, name),
          strings.delete,
          function (confirmButton) {
            runKeyAction(confirmButton, 'keys.delete', name, 'keyDeleted');
          },
          function () {
            showKeyActions(cell, name);
          },
        );
      }),
    );
  }

  function runKeyAction(trigger, operation, name, message) {
    clearMessages();
    busy(trigger, true);
    call(operation, { name: name }).then(
      function () {
        showSuccess(format(strings[message], name));
        return refresh();
      },
      function (problem) {
        busy(trigger, false);
        showError(problem);
      },
    );
  }

  /** An inline confirmation (text, confirm, cancel) in `container`; focus goes to the question. */
  function confirmStep(container, question, confirmText, onConfirm, onCancel) {
    container.textContent = '';
    var text = el('p', { className: 'kb-confirm-text', tabindex: '-1', textContent: question });
    var yes = button(confirmText, cls(classes.primary || 'button button-primary', 'kb-confirm-yes'), function () {
      onConfirm(yes);
    });
    var no = button(strings.cancel, cls(classes.button || 'button', 'kb-confirm-no'), onCancel);
    container.appendChild(el('div', { className: 'kb-confirm', role: 'group' }, [text, yes, document.createTextNode(' '), no]));
    text.focus();
  }

  function busy(node, isBusy) {
    node.disabled = isBusy;
    node.setAttribute('aria-busy', isBusy ? 'true' : 'false');
  }

  // ---- forms (config.forms, from spec.yaml) ---------------------------------------------

  var forms = (config.forms || []).map(buildForm);

  function buildForm(spec) {
    var fieldset = el('fieldset', { className: 'kb-fieldset' });
    var form = el('form', { className: 'kb-form', 'data-form': spec.id }, [fieldset]);
    var controls = {};
    (spec.fields || []).forEach(function (field) {
      var built = buildField(spec, field);
      controls[field.name] = built;
      fieldset.appendChild(built.row);
    });
    var submit = el('button', { type: 'submit', className: classes.primary || 'button button-primary', textContent: spec.submit });
    var actions = el('p', { className: 'kb-form-actions' }, [submit]);
    fieldset.appendChild(actions);
    var section = el('section', { id: 'kb-form-' + spec.id, className: 'kb-section kb-form-' + spec.id, hidden: true }, [
      el('h2', { textContent: spec.title }),
      spec.help ? el('p', { className: 'description', textContent: spec.help }) : null,
      form,
    ]);

    // Enter in a field submits even while the button is disabled: one request at a time.
    var sending = false;

    form.addEventListener('submit', function (event) {
      event.preventDefault();
      if (sending) {
        return;
      }
      clearFieldErrors(controls);
      if (!form.reportValidity()) {
        return;
      }
      if (spec.confirm) {
        confirmStep(
          actions,
          spec.confirm,
          spec.submit,
          function (yes) {
            send(yes);
          },
          function () {
            actions.textContent = '';
            actions.appendChild(submit);
            submit.focus();
          },
        );
        return;
      }
      send(submit);
    });

    function send(trigger) {
      clearMessages();
      busy(trigger, true);
      sending = true;
      Object.keys(controls).forEach(function (name) {
        if (controls[name].input.kbReveal) {
          setRevealed(controls[name].input, controls[name].input.kbReveal, false);
        }
      });
      call(spec.operation, formBody(spec, controls)).then(
        function (answer) {
          sending = false;
          form.reset();
          actions.textContent = '';
          actions.appendChild(submit);
          busy(submit, false);
          showSuccess(successText(spec.operation, answer));
          return refresh();
        },
        function (problem) {
          sending = false;
          busy(trigger, false);
          var control = problem.field && controls[problem.field];
          if (control) {
            control.error.textContent = problem.detail ? problem.title + ' ' + problem.detail : problem.title;
            control.input.setAttribute('aria-invalid', 'true');
            control.input.focus();
            showError({ title: problem.title, detail: '' });
          } else {
            showError(problem);
          }
        },
      );
    }

    return { spec: spec, section: section, fieldset: fieldset, tab: spec.section || 'advanced' };
  }

  function buildField(spec, field) {
    var id = 'kb-' + spec.id + '-' + field.name;
    var input = el('input', {
      type: field.type || 'text',
      id: id,
      name: field.name,
      className: field.type === 'number' ? 'small-text' : 'regular-text',
      required: Boolean(field.required),
      pattern: field.pattern ? String(field.pattern).replace(/^\^/, '').replace(/\$$/, '') : null,
      maxlength: field.maxlength,
      min: field.min,
      max: field.max,
      step: field.step,
      value: field.default !== undefined ? field.default : null,
      // The spec may say (the production form asks for the existing account password: current-password).
      autocomplete: field.autocomplete || (field.type === 'password' ? 'new-password' : field.type === 'email' ? 'email' : 'off'),
      spellcheck: field.type === 'text' ? 'false' : null,
      'aria-describedby': id + '-error' + (field.help ? ' ' + id + '-help' : ''),
    });
    var error = el('span', { id: id + '-error', className: 'kb-field-error', 'aria-live': 'polite' });
    var row = el('p', { className: 'kb-field' }, [
      el('label', { for: id, textContent: field.label }),
      el('br'),
      input,
      field.type === 'password' ? revealButton(input, field.label) : null,
      field.help ? el('span', { id: id + '-help', className: 'description kb-field-help', textContent: field.help }) : null,
      error,
    ]);
    return { input: input, error: error, row: row, field: field };
  }

  /**
   * A secret field is masked; this button shows what was typed (for the owner to check it)
   * and masks it again. The form masks it again after every send.
   */
  function revealButton(input, label) {
    var toggle = el('button', {
      type: 'button',
      className: cls(classes.button || 'button', 'kb-reveal'),
      'aria-controls': input.id,
      'aria-pressed': 'false',
      'aria-label': format(strings.showField, label),
      textContent: strings.show,
    });
    toggle.addEventListener('click', function () {
      var showing = input.type === 'text';
      setRevealed(input, toggle, !showing);
      input.focus();
    });
    input.kbReveal = toggle;
    return toggle;
  }

  function setRevealed(input, toggle, revealed) {
    input.type = revealed ? 'text' : 'password';
    toggle.setAttribute('aria-pressed', revealed ? 'true' : 'false');
    toggle.textContent = revealed ? strings.hide : strings.show;
  }

  /** The request body: the form's fields only; empty optional fields are left out. */
  function formBody(spec, controls) {
    var body = {};
    (spec.fields || []).forEach(function (field) {
      var raw = controls[field.name].input.value;
      if (raw === '' && !field.required) {
        return;
      }
      body[field.name] = field.type === 'number' ? Number(raw) : raw;
    });
    return body;
  }

  function clearFieldErrors(controls) {
    Object.keys(controls).forEach(function (name) {
      controls[name].error.textContent = '';
      controls[name].input.removeAttribute('aria-invalid');
    });
  }

  function successText(operation, answer) {
    var own = (config.successMessages || {})[operation];
    if (own) {
      return format(own, answer.option || answer.constant || answer.name || '');
    }
    if (KEY_MESSAGES[operation]) {
      return format(strings[KEY_MESSAGES[operation]], answer.name);
    }
    if (operation === 'production') {
      return answer.status === 'pending' ? strings.productionPending : strings.productionIssued;
    }
    return strings[OTHER_MESSAGES[operation]] || strings.done;
  }

  // ---- state -------------------------------------------------------------------------

  function agentDown(status) {
    return (status.rows || []).some(function (row) {
      return row.id === 'agent' && row.severity === 'error';
    });
  }

  function shown(spec, status) {
    switch (spec.shown_when) {
      case 'unregistered':
        return !status.registered;
      case 'registered':
        return Boolean(status.registered);
      case 'development':
        return Boolean(status.registered) && status.environment === 'development';
      default:
        return true;
    }
  }

  function formSection(id) {
    for (var i = 0; i < forms.length; i++) {
      if (forms[i].spec.id === id) {
        return forms[i].section;
      }
    }
    return null;
  }

  function applyStatus(status) {
    var down = agentDown(status);
    // Forms first: a row's action links to its form only while that form is on the page.
    forms.forEach(function (form) {
      form.section.hidden = !shown(form.spec, status);
      form.fieldset.disabled = down;
    });
    renderStatus(status);
    keysSection.hidden = down || !status.registered;
    if (down) {
      notice(politeRegion, 'success', '');
      notice(alertRegion, 'error', strings.agentDown);
    }
  }

  /** Functions a CMS's own panels (keybridge-admin-site.js) run after each refresh, with the status. */
  var refreshHooks = [];
  var lastStatus = null;

  function refresh() {
    return call('status').then(
      function (status) {
        lastStatus = status;
        applyStatus(status);
        var hooks = Promise.all(
          refreshHooks.map(function (hook) {
            return hook(status);
          }),
        );
        if (agentDown(status) || !status.registered || !hasSection('keys')) {
          return hooks;
        }
        return Promise.all([
          hooks,
          listKeys(null).then(null, function (problem) {
            renderKeys([], false);
            moreKeys.hidden = true;
            keysNote.textContent = format(strings.keysUnavailable, problem.title);
          }),
        ]);
      },
      function (problem) {
        statusBody.textContent = '';
        showError(problem);
      },
    );
  }

  // ---- tabs (config.sections) ---------------------------------------------------------

  var sections = (config.sections || [{ id: 'status', title: strings.statusHeading }]).map(function (section) {
    return {
      id: section.id,
      tab: el('a', {
        id: 'kb-tab-' + section.id,
        href: '#kb-tab-' + section.id,
        role: 'tab',
        className: cls(classes.tab || 'nav-tab', 'kb-tab'),
        'aria-controls': 'kb-panel-' + section.id,
        textContent: section.title,
      }),
      panel: el('div', {
        id: 'kb-panel-' + section.id,
        role: 'tabpanel',
        className: 'kb-panel',
        'aria-labelledby': 'kb-tab-' + section.id,
      }),
    };
  });

  function hasSection(id) {
    return sections.some(function (section) {
      return section.id === id;
    });
  }

  function sectionById(id) {
    for (var i = 0; i < sections.length; i++) {
      if (sections[i].id === id) {
        return sections[i];
      }
    }
    // A part whose tab this page does not have goes to the last tab (advanced).
    return sections[sections.length - 1];
  }

  function showSection(id, focusTab) {
    var chosen = sectionById(id);
    sections.forEach(function (section) {
      var active = section === chosen;
      section.panel.hidden = !active;
      section.tab.setAttribute('aria-selected', active ? 'true' : 'false');
      section.tab.setAttribute('tabindex', active ? '0' : '-1');
      section.tab.classList.toggle(classes.tab_active || 'nav-tab-active', active);
    });
    if (focusTab) {
      chosen.tab.focus();
    }
  }

  /** Shows the tab holding `node` (a form the status table links to). */
  function showSectionOf(node) {
    sections.forEach(function (section) {
      if (section.panel.contains(node)) {
        showSection(section.id, false);
      }
    });
  }

  var tabList = el(
    'nav',
    { className: cls(classes.tabs || 'nav-tab-wrapper', 'kb-tabs'), role: 'tablist' },
    sections.map(function (section) {
      return section.tab;
    }),
  );
  sections.forEach(function (section, index) {
    section.tab.addEventListener('click', function (event) {
      event.preventDefault();
      showSection(section.id, false);
      // A reload (after saving WordPress's own settings, say) comes back to this tab.
      if (window.history && window.history.replaceState) {
        window.history.replaceState(null, '', '#kb-tab-' + section.id);
      }
    });
    // Arrow keys move between tabs, as WAI-ARIA's tab pattern does.
    section.tab.addEventListener('keydown', function (event) {
      var step = event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0;
      if (step) {
        event.preventDefault();
        showSection(sections[(index + step + sections.length) % sections.length].id, true);
      }
    });
  });

  // ---- the page ------------------------------------------------------------------------

  // What PHP printed for everyone (the configuration lines) goes to its tab; the rest of the
  // server-rendered content was for browsers without JavaScript.
  var configuration = document.getElementById('kb-configuration');
  root.textContent = '';
  root.classList.add('kb-admin');
  root.appendChild(politeRegion);
  root.appendChild(alertRegion);
  root.appendChild(tabList);
  sections.forEach(function (section) {
    root.appendChild(section.panel);
  });
  sectionById('status').panel.appendChild(statusSection);
  // A page without a keys tab (a network's own page) lists no keys.
  if (hasSection('keys')) {
    sectionById('keys').panel.appendChild(keysSection);
  }
  forms.forEach(function (form) {
    sectionById(form.tab).panel.appendChild(form.section);
  });
  if (configuration) {
    sectionById('advanced').panel.appendChild(configuration);
  }
  keysSection.hidden = true;
  /** A link to `#kb-tab-<id>` (this page's or another's) opens that tab. */
  function showAskedSection() {
    var asked = /^#kb-tab-([a-z]+)$/.exec(window.location.hash);
    showSection(asked ? asked[1] : sections[0].id, false);
  }
  window.addEventListener('hashchange', showAskedSection);
  showAskedSection();

  window.keybridgeAdminUi = {
    config: config,
    strings: strings,
    classes: classes,
    el: el,
    cls: cls,
    format: format,
    button: button,
    busy: busy,
    call: call,
    formatDate: formatDate,
    confirmStep: confirmStep,
    showSuccess: showSuccess,
    showError: showError,
    clearMessages: clearMessages,
    refresh: refresh,
    /** Adds content to a tab (the last tab if this page has no such tab), before `before` when it is in that tab. */
    addToSection: function (id, node, before) {
      var panel = sectionById(id).panel;
      panel.insertBefore(node, before && before.parentNode === panel ? before : null);
    },
    /** Runs `hook(status)` after every refresh (it may return a promise), and now if a status came already. */
    onRefresh: function (hook) {
      refreshHooks.push(hook);
      if (lastStatus) {
        hook(lastStatus);
      }
    },
  };
  refresh();
})();
