// Shared by the Yoto nodes' editor files (nodes/*/*.html). Node-RED serves this module's resources/
// folder at resources/<module>/ and each editor file loads this script with <script src> before its
// own scripts run, so it is defined when a node registers. Loaded once per editor file: the first load wins.
(function () {
  if (window.YotoEditor) return;
  var YotoEditor = (window.YotoEditor = {});

  /**
   * What every Yoto node's definition shares: the Yoto category and colour, its palette label from its
   * locale, its icon (<type>.svg), an italic label once named, and the name and hub properties (a node
   * may redefine hub). The node's own definition adds or overrides the rest. Its dialog's template
   * rows are expanded here too (expandTemplate).
   */
  YotoEditor.node = function (type, definition) {
    YotoEditor.expandTemplate(type);
    var shared = {
      category: 'Yoto',
      color: '#F4A259',
      icon: type + '.svg',
      paletteLabel: function () {
        return this._(type + '.paletteLabel');
      },
      labelStyle: function () {
        return this.name ? 'node_label_italic' : '';
      }
    };
    var defaults = { name: { value: '' }, hub: { value: '', type: 'yoto-hub', required: true } };
    return $.extend(shared, definition, { defaults: $.extend(defaults, definition.defaults) });
  };

  /**
   * The edit dialog's rows. A node's template holds one placeholder per standard row,
   * `<div data-yoto-row="kind" data-field="..." data-icon="...">`, expanded here into Node-RED's
   * form-row markup (label with icon and the `<type>.label.<field>` text, then the field) when the node
   * registers, before any dialog opens. The placeholder's id, class and style stay on the row.
   * Kinds: hub, name, text, number, checkbox, select (the placeholder's <option>s), picker (a hub list
   * with a typed fallback, see hubListPicker) and condition (property, operator and value, and a card list).
   */
  YotoEditor.expandTemplate = function (type) {
    var $template = $('script[data-template-name="' + type + '"]');
    var $form = $('<div></div>').html($template.html());
    $form.find('[data-yoto-row]').each(function () {
      var $placeholder = $(this);
      var $rows = $(ROWS[$placeholder.attr('data-yoto-row')](rowContext(type, $placeholder)));
      ['id', 'style'].forEach(function (name) {
        if ($placeholder.attr(name)) $rows.first().attr(name, $placeholder.attr(name));
      });
      $rows.first().addClass($placeholder.attr('class') || '');
      $placeholder.replaceWith($rows);
    });
    $template.html($form.html());
  };

  function rowContext(type, $placeholder) {
    var config = type === 'yoto-hub'; // the one config node: its fields are node-config-input-*
    var field = $placeholder.attr('data-field') || $placeholder.attr('data-yoto-row');
    return {
      type: type,
      field: field,
      id: (config ? 'node-config-input-' : 'node-input-') + field,
      icon: $placeholder.attr('data-icon'),
      label: type + '.label.' + ($placeholder.attr('data-label') || field),
      width: config ? '' : ' style="width:' + ($placeholder.attr('data-width') || '70%') + '"',
      options: $placeholder.html(),
      typed: $placeholder.is('[data-typed]')
    };
  }

  /** One form-row: its label (icon and text) for ctx.id, then the controls; `attrs` adds the row's own id and style. */
  function row(ctx, controls, attrs) {
    return '<div class="form-row"' + (attrs || '') + '><label for="' + ctx.id + '"><i class="fa fa-' + ctx.icon + '"></i> <span data-i18n="' + ctx.label + '"></span></label>' + controls + '</div>';
  }

  var ROWS = {
    hub: function (ctx) {
      return row($.extend({}, ctx, { icon: 'server' }), '<input type="text" id="node-input-hub">');
    },
    name: function (ctx) {
      var placeholder = ctx.type === 'yoto-hub' ? '' : ' data-i18n="[placeholder]' + ctx.label + '"';
      return row($.extend({}, ctx, { icon: 'tag' }), '<input type="text" id="' + ctx.id + '"' + placeholder + '>');
    },
    text: function (ctx) {
      var typeField = ctx.typed ? '<input type="hidden" id="' + ctx.id + 'Type">' : '';
      return row(ctx, '<input type="text" id="' + ctx.id + '"' + ctx.width + '>' + typeField);
    },
    number: function (ctx) {
      return row(ctx, '<input type="number" min="0" id="' + ctx.id + '"' + ctx.width + '>');
    },
    checkbox: function (ctx) {
      return row(ctx, '<input type="checkbox" id="' + ctx.id + '" style="width:auto"> <span data-i18n="' + ctx.label + 'Checkbox"></span>');
    },
    select: function (ctx) {
      return row(ctx, '<select id="' + ctx.id + '"' + ctx.width + '>' + ctx.options + '</select>');
    },
    picker: function (ctx) {
      var ids = pickerIds(ctx.type, ctx.field);
      return row(ctx,
        '<select id="' + ids.select + '" style="width:70%; display:none"></select>' +
        '<input type="text" id="' + ctx.id + '" style="width:70%" data-i18n="[placeholder]' + ctx.type + '.' + ctx.field + '.placeholder">' +
        '<div class="form-tips" id="' + ids.hint + '" style="margin-left:105px; margin-top:4px; width:auto"></div>');
    },
    condition: function (ctx) {
      var t = ctx.type;
      var card = pickerIds(t, 'card');
      return row($.extend({}, ctx, { id: 'node-input-property', icon: 'filter' }),
          '<select id="node-input-property" style="width:25%"></select>' +
          '<select id="node-input-operator" style="width:20%"></select>' +
          '<input type="text" id="node-input-value" style="width:24%" data-i18n="[placeholder]' + t + '.label.value">') +
        row($.extend({}, ctx, { id: card.select, icon: 'square', label: t + '.label.card' }),
          '<select id="' + card.select + '" style="width:70%; display:none"></select>' +
          '<div class="form-tips" id="' + card.hint + '" style="margin-left:105px; margin-top:4px; width:auto"></div>',
          ' id="' + t + '-card-row" style="display:none"');
    }
  };

  function pickerIds(type, field) {
    return { select: type + '-' + field + '-select', hint: type + '-' + field + '-hint' };
  }

  /** A player as the dialogs' Player lists show it: "Living Room (<id>)", and "– offline" when it is. */
  YotoEditor.playerLabel = function (player) {
    return player.name + ' (' + player.id + ')' + (player.online ? '' : ' \u2013 offline');
  };

  /**
   * The field of a `picker` row: a <select> filled from the running hub's admin endpoint
   * (`yoto-hub/<id>/<endpoint>`), with a blank "from msg" choice and an "other: type it" fallback;
   * the text input keeps the value. It reloads when the dialog's hub changes. Its texts are the
   * node's `<type>.<field>.*` locale strings. `text` shows an item (players by default).
   */
  YotoEditor.picker = function (node, field, endpoint, text) {
    var ids = pickerIds(node.type, field);
    YotoEditor.hubListPicker(node, {
      input: '#node-input-' + field, select: '#' + ids.select, hint: '#' + ids.hint,
      endpoint: endpoint, prefix: node.type + '.' + field,
      text: text || YotoEditor.playerLabel
    });
  };

  /** hubListPicker with its elements named: input, select and hint (selectors), endpoint, prefix (locale) and text. */
  YotoEditor.hubListPicker = function (node, options) {
    var $input = $(options.input);
    var $select = $(options.select);
    var $hint = $(options.hint);
    function fill(items) {
      var current = $input.val();
      var found = false;
      $select.empty();
      $('<option value=""></option>').text(node._(options.prefix + '.fromMsg')).appendTo($select);
      items.forEach(function (item) {
        if (item.id === current || item.name === current) found = true;
        $('<option></option>').attr('value', item.id).text(options.text(item)).appendTo($select);
      });
      $('<option value="__other"></option>').text(node._(options.prefix + '.other')).appendTo($select);
      var byName = items.filter(function (item) { return item.name === current; })[0];
      $select.val(!current ? '' : found ? (byName ? byName.id : current) : '__other');
      $input.toggle($select.val() === '__other');
      $select.show();
    }
    function load() {
      var hubId = $('#node-input-hub').val();
      $select.hide();
      $input.show();
      if (!hubId || hubId === '_ADD_') {
        $hint.text(node._(options.prefix + '.notDeployed'));
        return;
      }
      $hint.text(node._(options.prefix + '.loading'));
      $.getJSON('yoto-hub/' + encodeURIComponent(hubId) + '/' + options.endpoint)
        .done(function (data) {
          $hint.text('');
          fill((data && data[options.endpoint]) || []);
        })
        .fail(function () {
          $hint.text(node._(options.prefix + '.notDeployed'));
        });
    }
    $select.on('change', function () {
      var value = $select.val();
      if (value === '__other') $input.show().trigger('focus');
      else $input.val(value).hide().trigger('change');
    });
    $('#node-input-hub').on('change', load);
    load();
  };

  /** The properties of a node with condition rows: its player, the condition, then the node's own (`more`). */
  YotoEditor.conditionDefaults = function (more) {
    return $.extend({
      device: { value: '' },
      property: { value: 'playback', required: true },
      operator: { value: 'is', required: true },
      value: { value: '' }
    }, more);
  };

  /**
   * The condition rows' behaviour (yoto-current-state, yoto-wait-until): the property and operator
   * lists in the node's words, and for "card is ..." a list of the family library's cards.
   */
  YotoEditor.conditionEditor = function (node) {
    var t = node.type;
    var $property = $('#node-input-property');
    var $operator = $('#node-input-operator');
    ['playback', 'status', 'card', 'online', 'volume', 'battery', 'charging', 'headphones', 'bluetoothAudio', 'dayMode'].forEach(function (p) {
      $('<option></option>').attr('value', p).text(node._(t + '.property.' + p)).appendTo($property);
    });
    ['is', 'is_not', 'in', 'not_in', 'lt', 'gt'].forEach(function (o) {
      $('<option></option>').attr('value', o).text(node._(t + '.operator.' + o)).appendTo($operator);
    });
    $property.val(node.property || 'playback');
    $operator.val(node.operator || 'is');
    // "card is ...": pick a card of the family library (searchable by typing in the list), or type an id.
    var cardsLoaded = false;
    function cardPicker() {
      var isCard = $property.val() === 'card';
      $('#' + t + '-card-row').toggle(isCard);
      if (!isCard || cardsLoaded) return;
      cardsLoaded = true;
      var card = pickerIds(t, 'card');
      YotoEditor.hubListPicker(node, {
        input: '#node-input-value', select: '#' + card.select, hint: '#' + card.hint,
        endpoint: 'cards', prefix: t + '.card',
        text: function (c) { return c.name + ' (' + c.id + ')'; }
      });
    }
    $property.on('change', cardPicker);
    cardPicker();
  };
})();
