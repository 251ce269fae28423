// Address forms (checkout, address book): once a country is chosen, the region list shows only that
// country's states or provinces under the word the country uses, and the free-text county field shows
// only for countries without a list. Without JavaScript both fields show, and the server checks them.
(function () {
  "use strict";

  function enhanceRegions(country) {
    const form = country.form;
    const region = form.querySelector("select[name=region]");
    const other = form.querySelector("input[name=region_other]");
    if (!region || !other) return;
    const regionField = region.closest(".field");
    const otherField = other.closest(".field");
    const label = regionField.querySelector("label");
    const hint = document.getElementById(region.id + "-hint");
    const otherHint = document.getElementById(other.id + "-hint");
    const labels = JSON.parse(region.dataset.labels || "{}");
    const groups = Array.from(region.querySelectorAll("optgroup"));
    const original = { label: label.textContent, hint: hint ? hint.textContent : "" };

    function update(changedByShopper) {
      const prefix = country.value + "-";
      if (changedByShopper && !region.value.startsWith(prefix)) region.value = "";
      // A region of another country (sent without JavaScript, refused by the server) stays in view with its error.
      const mismatch = region.value !== "" && !region.value.startsWith(prefix);
      let listed = false;
      for (const group of groups) {
        const mine = group.querySelector("option").value.startsWith(prefix);
        listed = listed || mine;
        if (mine || mismatch) region.append(group);
        else group.remove();
      }
      regionField.hidden = !listed && !mismatch;
      otherField.hidden = listed;
      label.textContent = listed && !mismatch ? labels[country.value] : original.label;
      if (hint) {
        hint.textContent = listed && !mismatch ? "" : original.hint;
        hint.hidden = hint.textContent === "";
      }
    }

    // The county field's hint only tells it from the list, and from now on only one of them shows.
    if (otherHint) {
      otherHint.textContent = "";
      otherHint.hidden = true;
    }
    country.addEventListener("change", () => update(true));
    update(false);
  }

  document.querySelectorAll("form select[name=country]").forEach(enhanceRegions);
})();
