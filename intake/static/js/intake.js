/* Meso Intake: progressive enhancement only. Every page works without this file:
   follow-up questions are simply visible, and "Add another"/"Remove" post the form back. */
(function () {
  "use strict";

  function each(nodes, fn) {
    Array.prototype.forEach.call(nodes, fn);
  }

  /* ---- follow-up questions: hidden until their parent answer makes them relevant ---- */

  function isRelevant(container) {
    var form = container.closest("form") || document;
    var name = container.getAttribute("data-reveal-for");
    var value = container.getAttribute("data-reveal-value");
    var relevant = false;
    each(form.querySelectorAll("input"), function (input) {
      if (input.name === name && input.value === value && input.checked) {
        relevant = true;
      }
    });
    // Never hide a question the server has just flagged.
    return relevant || container.querySelector(".error-message") !== null;
  }

  function updateFollowUps(scope) {
    each((scope || document).querySelectorAll("[data-reveal-for]"), function (container) {
      container.hidden = !isRelevant(container);
    });
  }

  /* ---- "None of these" unticks the others, and the others untick it ---- */

  function updateExclusive(changed) {
    if (changed.type !== "checkbox" || !changed.checked) {
      return;
    }
    var form = changed.closest("form");
    each(form.querySelectorAll("input[type=checkbox]"), function (box) {
      if (box !== changed && box.name === changed.name &&
          (changed.hasAttribute("data-exclusive") || box.hasAttribute("data-exclusive"))) {
        box.checked = false;
      }
    });
  }

  /* ---- repeatable rows: add and remove in the page, numbered as the server would ---- */

  var RENAMED = ["id", "name", "for", "aria-describedby", "data-reveal-for"];

  function renumber(row, listName, index) {
    var pattern = new RegExp("(^|\\s)" + listName + "-\\d+(?=-|\\s|$)", "g");
    var nodes = [row].concat(Array.prototype.slice.call(row.querySelectorAll("*")));
    nodes.forEach(function (node) {
      RENAMED.forEach(function (attribute) {
        var value = node.getAttribute(attribute);
        if (value) {
          node.setAttribute(attribute, value.replace(pattern, "$1" + listName + "-" + index));
        }
      });
      if (node.hasAttribute("data-remove-row")) {
        node.value = "remove:" + listName + ":" + index;
      }
      if (node.hasAttribute("data-row-number")) {
        node.textContent = String(index + 1);
      }
    });
  }

  function clearRow(row) {
    each(row.querySelectorAll("input, select, textarea"), function (control) {
      if (control.type === "radio" || control.type === "checkbox") {
        control.checked = false;
        control.defaultChecked = false;
      } else if (control.tagName === "SELECT") {
        control.selectedIndex = 0;
      } else {
        control.value = "";
        control.defaultValue = "";
      }
      control.removeAttribute("aria-invalid");
      control.removeAttribute("autofocus");
      control.classList.remove("input--error");
      var described = (control.getAttribute("aria-describedby") || "").split(/\s+/).filter(function (id) {
        return id && !/-error$/.test(id);
      });
      if (described.length) {
        control.setAttribute("aria-describedby", described.join(" "));
      } else {
        control.removeAttribute("aria-describedby");
      }
    });
    each(row.querySelectorAll("fieldset[aria-describedby]"), function (fieldset) {
      var described = fieldset.getAttribute("aria-describedby").split(/\s+/).filter(function (id) {
        return !/-error$/.test(id);
      });
      if (described.length) {
        fieldset.setAttribute("aria-describedby", described.join(" "));
      } else {
        fieldset.removeAttribute("aria-describedby");
      }
    });
    each(row.querySelectorAll(".error-message"), function (message) {
      message.remove();
    });
    each(row.querySelectorAll(".field--error"), function (field) {
      field.classList.remove("field--error");
    });
  }

  function rowsOf(list) {
    return Array.prototype.filter.call(list.children, function (child) {
      return child.hasAttribute("data-row");
    });
  }

  function refreshList(list) {
    var name = list.getAttribute("data-rows");
    var rows = rowsOf(list);
    rows.forEach(function (row, index) {
      renumber(row, name, index);
    });
    var add = list.querySelector("[data-add-row]");
    if (add) {
      add.hidden = rows.length >= Number(list.getAttribute("data-max-rows") || 20);
    }
    updateFollowUps(list);
  }

  function addRow(list) {
    var rows = rowsOf(list);
    var last = rows[rows.length - 1];
    var row = last.cloneNode(true);
    clearRow(row);
    last.after(row);
    refreshList(list);
    var first = row.querySelector("input, select, textarea");
    if (first) {
      first.focus();
    }
  }

  function removeRow(list, row) {
    if (rowsOf(list).length === 1) {
      clearRow(row);
    } else {
      row.remove();
    }
    refreshList(list);
    var add = list.querySelector("[data-add-row]");
    if (add && !add.hidden) {
      add.focus();
    }
  }

  /* ---- copy the private link (an input) or a new API token (a <code>), print the confirmation ---- */

  function copyLink(button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    var done = function () {
      button.textContent = button.getAttribute("data-copied") || "Copied";
    };
    var text;
    if (typeof source.select === "function") {
      source.select();
      text = source.value;
    } else {
      var range = document.createRange();
      range.selectNodeContents(source);
      window.getSelection().removeAllRanges();
      window.getSelection().addRange(range);
      text = source.textContent.trim();
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () {});
    } else if (document.execCommand && document.execCommand("copy")) {
      done();
    }
  }

  /* ---- error summary links: focus the control, show its question ---- */

  function followErrorLink(link, event) {
    var target = document.getElementById(decodeURIComponent(link.hash.slice(1)));
    if (!target) {
      return;
    }
    event.preventDefault();
    var fieldset = target.closest("fieldset");
    var label = document.querySelector("label[for='" + target.id + "']");
    var heading = (fieldset && fieldset.querySelector("legend")) || label || target;
    heading.scrollIntoView();
    target.focus({ preventScroll: true });
  }

  document.addEventListener("change", function (event) {
    var control = event.target;
    if (control.matches && control.matches("input[type=checkbox], input[type=radio]")) {
      updateExclusive(control);
      updateFollowUps(control.closest("form") || document);
      openWhenChosen(control);
    } else if (control.hasAttribute && control.hasAttribute("data-photo-input")) {
      previewPhoto(control);
    }
  });

  /* The photo forms: a preview of the chosen photo (one file per form: choosing with the
     camera clears a file chosen before, and the other way round). Without this file the
     server takes whichever was chosen. HEIC shows no preview in most browsers: its name does. */
  function previewPhoto(input) {
    var form = input.closest("form");
    var preview = form && form.querySelector("[data-photo-preview]");
    if (!preview) {
      return;
    }
    each(form.querySelectorAll("[data-photo-input]"), function (other) {
      if (other !== input) {
        other.value = "";
      }
    });
    var file = input.files && input.files[0];
    var image = preview.querySelector("img");
    preview.hidden = true;
    image.removeAttribute("src");
    if (!file || !/^image\/(jpeg|png|webp)$/.test(file.type)) {
      return;
    }
    var reader = new FileReader();
    reader.onload = function () {
      image.src = reader.result; /* a data: URL: the page's policy allows no other */
      preview.hidden = false;
    };
    reader.readAsDataURL(file);
  }

  /* A folded part of a form that belongs to one choice (the decision's "more information"
     fields) opens when that choice is made; without this file the reader opens it. */
  function openWhenChosen(control) {
    var form = control.closest("form");
    if (!form || !control.checked) {
      return;
    }
    each(form.querySelectorAll("details[data-open-for]"), function (details) {
      if (details.getAttribute("data-open-for") === control.name + "=" + control.value) {
        details.open = true;
      }
    });
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("button, a") : null;
    if (!target) {
      return;
    }
    var list = target.closest("[data-rows]");
    if (target.hasAttribute("data-add-row") && list) {
      event.preventDefault();
      addRow(list);
    } else if (target.hasAttribute("data-remove-row") && list) {
      event.preventDefault();
      removeRow(list, target.closest("[data-row]"));
    } else if (target.hasAttribute("data-copy")) {
      copyLink(target);
    } else if (target.hasAttribute("data-print")) {
      window.print();
    } else if (target.matches(".error-summary a[href^='#']")) {
      followErrorLink(target, event);
    }
  });

  function start() {
    document.documentElement.classList.add("js");
    updateFollowUps(document);
    each(document.querySelectorAll("[data-copy], [data-print]"), function (button) {
      button.hidden = false;
    });
    each(document.querySelectorAll("[data-print-hint]"), function (hint) {
      hint.hidden = true;
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
