// Tollgate's pages: dialogs, confirmations, the Add wizard's steps, module search, the
// Expiration date field, and show / hide / copy of token values. Everything works without this script except those
// conveniences; each show or copy of a stored value asks the server, which records a reveal.
"use strict";

document.documentElement.classList.add("js");

(function () {
  const csrf = () => {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  };

  let toastTimer = null;
  const toast = (message) => {
    const box = document.getElementById("toast");
    if (!box) return;
    box.textContent = message;
    box.classList.add("show");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => box.classList.remove("show"), 4000);
  };

  const openDialog = (dialog) => {
    if (!dialog || typeof dialog.showModal !== "function") return false;
    dialog.showModal();
    const first = dialog.querySelector("input:not([type=hidden]), textarea, select, button");
    if (first) first.focus();
    return true;
  };

  // Dialogs: [data-dialog=id] opens, [data-close] closes.
  document.addEventListener("click", (event) => {
    const opener = event.target.closest("[data-dialog]");
    if (opener) {
      if (openDialog(document.getElementById(opener.dataset.dialog))) event.preventDefault();
      return;
    }
    const closer = event.target.closest("[data-close]");
    if (closer) {
      const dialog = closer.closest("dialog");
      if (dialog) dialog.close();
      return;
    }
    // Confirmations: a link to the confirmation page becomes a dialog posting the same form.
    const confirmLink = event.target.closest("a[data-confirm]");
    if (confirmLink) {
      const dialog = document.getElementById("confirm-dialog");
      if (!dialog) return;
      const form = dialog.querySelector("form");
      form.setAttribute("action", confirmLink.getAttribute("href"));
      document.getElementById("confirm-title").textContent =
        confirmLink.dataset.confirmLabel || "Please confirm";
      document.getElementById("confirm-message").textContent = confirmLink.dataset.confirm;
      const submit = document.getElementById("confirm-submit");
      submit.textContent = confirmLink.dataset.confirmLabel || "Confirm";
      submit.classList.toggle("danger", confirmLink.hasAttribute("data-danger"));
      if (openDialog(dialog)) {
        event.preventDefault();
        submit.focus();
      }
    }
  });

  // Searchable checklists.
  document.querySelectorAll("[data-filter-list]").forEach((input) => {
    input.addEventListener("input", () => {
      const list = document.getElementById(input.dataset.filterList);
      if (!list) return;
      const needle = input.value.trim().toLowerCase();
      let shown = 0;
      list.querySelectorAll("li").forEach((item) => {
        const match = item.textContent.toLowerCase().includes(needle);
        item.hidden = !match;
        if (match) shown += 1;
      });
      const none = list.parentElement.querySelector(".no-match");
      if (none) none.hidden = shown > 0;
    });
  });

  // Expiration: the date field only with "On a date…" (and then required).
  document.querySelectorAll("select[data-expiry-date]").forEach((select) => {
    const box = document.getElementById(select.dataset.expiryDate);
    if (!box) return;
    const date = box.querySelector("input[type=date]");
    const sync = () => {
      const chosen = select.value === "date";
      box.hidden = !chosen;
      if (date) date.required = chosen;
    };
    select.addEventListener("change", sync);
    sync();
  });

  // The Add wizard: one step at a time; the server re-opens the step with an error.
  document.querySelectorAll("form[data-wizard]").forEach((form) => {
    const steps = Array.from(form.querySelectorAll("[data-step]"));
    const labels = Array.from(document.querySelectorAll("ol.steps li"));
    let current = 0;
    const show = (index, focus) => {
      current = index;
      steps.forEach((step, i) => step.classList.toggle("current", i === index));
      labels.forEach((label, i) => {
        if (i === index) label.setAttribute("aria-current", "step");
        else label.removeAttribute("aria-current");
        label.classList.toggle("done", i < index);
      });
      if (focus) {
        const heading = steps[index].querySelector("legend");
        const target = steps[index].querySelector("input:not([type=hidden]), textarea") || heading;
        if (target) target.focus();
      }
    };
    const summarise = () => {
      const text = (selector) => {
        const field = form.querySelector(selector);
        return field && field.value.trim() ? field.value.trim() : "—";
      };
      const put = (key, value) => {
        const slot = form.querySelector(`[data-summary="${key}"]`);
        if (slot) slot.textContent = value;
      };
      put("name", text("[name=name]"));
      put("description", text("[name=description]"));
      const chosen = Array.from(form.querySelectorAll("input[name=modules]:checked")).map(
        (box) => box.dataset.moduleName
      );
      put("modules", chosen.length ? chosen.join(", ") : "—");
      const expiry = form.querySelector("select[name=expiry]");
      if (expiry) {
        const date = form.querySelector("input[name=expiry_date]");
        const option = expiry.selectedOptions[0];
        put(
          "expiry",
          expiry.value === "date"
            ? date && date.value ? `${date.value}, 00:00 UTC` : "—"
            : option ? option.textContent.trim() : "—"
        );
      }
      const selfRotate = form.querySelector("input[name=self_rotate]");
      put("self-rotate", selfRotate && selfRotate.checked ? "Allowed" : "Not allowed");
      const logo = form.querySelector("input[name=logo]");
      put("logo", logo && logo.files && logo.files.length ? logo.files[0].name : "None");
    };
    const valid = (step) => {
      for (const field of step.querySelectorAll("input:not([type=hidden]):not([type=checkbox]), textarea")) {
        if (!field.reportValidity()) return false;
      }
      const boxes = step.querySelectorAll("input[name=modules]");
      if (boxes.length) {
        const message = step.querySelector(".client-error") || document.createElement("p");
        message.className = "error client-error";
        message.setAttribute("role", "alert");
        if (!step.querySelector("input[name=modules]:checked")) {
          message.textContent = "Choose at least one module.";
          step.querySelector("fieldset").appendChild(message);
          return false;
        }
        message.remove();
      }
      return true;
    };
    form.addEventListener("click", (event) => {
      if (event.target.closest("[data-next]")) {
        if (!valid(steps[current])) return;
        if (current + 1 === steps.length - 1) summarise();
        show(Math.min(current + 1, steps.length - 1), true);
      } else if (event.target.closest("[data-back]")) {
        show(Math.max(current - 1, 0), true);
      }
    });
    const withError = steps.findIndex((step) => step.querySelector(".error"));
    show(withError >= 0 ? withError : 0, false);
  });

  // Token values: show / hide / copy. A stored value is fetched (and audited) on every use.
  const reveal = async (input) => {
    const response = await fetch(input.dataset.revealUrl, {
      method: "POST",
      headers: { "X-CSRF-Token": csrf(), Accept: "application/json" },
      credentials: "same-origin",
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok || !body.token) throw new Error(body.error || "The value could not be shown.");
    return body.token;
  };

  const copy = async (text) => {
    try {
      await navigator.clipboard.writeText(text);
    } catch (_) {
      const area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "offscreen";
      document.body.appendChild(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
  };

  document.addEventListener("click", async (event) => {
    const toggle = event.target.closest("[data-toggle-secret]");
    const copier = event.target.closest("[data-copy-secret]");
    const textCopier = event.target.closest("[data-copy-text]");
    try {
      if (toggle) {
        const input = document.getElementById(toggle.dataset.toggleSecret);
        if (input.type === "password") {
          if (input.dataset.revealUrl) input.value = await reveal(input);
          input.type = "text";
          toggle.textContent = "Hide";
          toggle.setAttribute("aria-pressed", "true");
        } else {
          input.type = "password";
          if (input.dataset.revealUrl) input.value = "••••••••••••••••";
          toggle.textContent = "Show";
          toggle.setAttribute("aria-pressed", "false");
        }
      } else if (copier) {
        const input = document.getElementById(copier.dataset.copySecret);
        const value = input.dataset.revealUrl ? await reveal(input) : input.value;
        await copy(value);
        toast("API token copied to the clipboard.");
      } else if (textCopier) {
        await copy(document.getElementById(textCopier.dataset.copyText).value);
        toast("Copied to the clipboard.");
      }
    } catch (error) {
      toast(error.message);
    }
  });
})();
