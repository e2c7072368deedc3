// dirbench leaderboard: sorting, filtering and picking two results to compare on the dataset page.
// Served as a file ('script-src self'); the pages work without it, only less conveniently.
"use strict";

/** The sort key of cell `i` of a row: a number, text, or null (empty cells sort last). */
function cellKey(row, i, type) {
  const cell = row.cells[i];
  const v = cell ? cell.dataset.v ?? cell.textContent.trim() : "";
  if (v === "") return null;
  return type === "num" ? Number(v) : v.toLowerCase();
}

function sortTable(table, col, type, button) {
  const th = button.closest("th");
  const descending = th.getAttribute("aria-sort") === "ascending";
  for (const other of table.querySelectorAll("th[aria-sort]")) other.removeAttribute("aria-sort");
  th.setAttribute("aria-sort", descending ? "descending" : "ascending");
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  rows.sort((a, b) => {
    const x = cellKey(a, col, type), y = cellKey(b, col, type);
    if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
    const order = x < y ? -1 : x > y ? 1 : 0;
    return descending ? -order : order;
  });
  for (const row of rows) body.appendChild(row);
}

function applyFilters() {
  const wanted = {};
  for (const select of document.querySelectorAll("select[data-filter]")) {
    wanted[select.dataset.filter] = select.value;
  }
  for (const section of document.querySelectorAll("section.backbone")) {
    let shown = 0;
    for (const row of section.querySelectorAll("tbody tr")) {
      const ok = Object.entries(wanted).every(([key, value]) => value === "" || row.dataset[key] === value);
      row.hidden = !ok;
      if (ok) shown++;
    }
    section.hidden = shown === 0;
  }
}

function updateCompare() {
  const button = document.getElementById("compare-picked");
  if (!button) return;
  const picked = Array.from(document.querySelectorAll("input.pick:checked"));
  button.disabled = picked.length !== 2;
}

function comparePicked() {
  const picked = Array.from(document.querySelectorAll("input.pick:checked")).map((i) => i.value);
  if (picked.length !== 2) return;
  const base = document.body.dataset.base || "/";
  location.href = `${base}compare/${encodeURIComponent(picked[0])}/${encodeURIComponent(picked[1])}/`;
}

document.addEventListener("DOMContentLoaded", () => {
  for (const table of document.querySelectorAll("table.sortable")) {
    for (const button of table.querySelectorAll("th button[data-col]")) {
      button.addEventListener(
        "click",
        () => sortTable(table, Number(button.dataset.col), button.dataset.type, button),
      );
    }
  }
  for (const select of document.querySelectorAll("select[data-filter]")) {
    select.addEventListener("change", applyFilters);
  }
  for (const box of document.querySelectorAll("input.pick")) box.addEventListener("change", updateCompare);
  const compare = document.getElementById("compare-picked");
  if (compare) compare.addEventListener("click", comparePicked);
  // The baseline form on a result page submits itself on change.
  for (const select of document.querySelectorAll("form.baseline select")) {
    select.addEventListener("change", () => select.form.submit());
  }
});
