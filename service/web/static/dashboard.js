/* Kolekt dashboard: wide tables read as cards on a phone.

   Each cell of a striped table in a .table-wrap gets its column's header text as data-label
   (colspan and rowspan honoured, several header rows joined with " · "); at 600px and below,
   dashboard.css hides the header and shows each cell's label before its value. A cell spanning
   several columns (a "None yet." row) gets no label and spans the card. Run on load and again
   after every htmx swap. The cells keep their table roles, so a screen reader still reads a
   table when the CSS lays its rows out as blocks. Tables with class keep-table are left alone.

   Then the phone's Menu: Escape or a tap outside closes it. */
(function () {
  "use strict";

  var TABLES = ".table-wrap table.striped:not(.keep-table)";

  function textOf(cell) {
    return (cell.textContent || "").replace(/\s+/g, " ").trim();
  }

  /* Calls visit(cell, firstColumn) for each cell of rows, in the grid the spans make. */
  function walk(rows, visit) {
    var taken = []; // taken[row][column]: covered by a cell from a row above
    for (var r = 0; r < rows.length; r++) {
      var column = 0;
      var cells = rows[r].cells;
      for (var c = 0; c < cells.length; c++) {
        var cell = cells[c];
        while (taken[r] && taken[r][column]) column++;
        var across = Math.max(1, cell.colSpan);
        var down = Math.max(1, cell.rowSpan);
        for (var below = 1; below < down; below++) {
          taken[r + below] = taken[r + below] || [];
          for (var k = 0; k < across; k++) taken[r + below][column + k] = true;
        }
        visit(cell, column, across);
        column += across;
      }
    }
  }

  function headings(table) {
    var names = [];
    if (!table.tHead) return names;
    walk(table.tHead.rows, function (cell, column, across) {
      var text = textOf(cell);
      if (!text) return;
      for (var k = column; k < column + across; k++) {
        names[k] = names[k] && names[k] !== text ? names[k] + " · " + text : text;
      }
    });
    return names;
  }

  function label(table) {
    var names = headings(table);
    table.setAttribute("role", "table");
    var groups = [table.tHead].concat(Array.prototype.slice.call(table.tBodies), [table.tFoot]);
    groups.forEach(function (group) {
      if (!group) return;
      group.setAttribute("role", "rowgroup");
      Array.prototype.forEach.call(group.rows, function (row) {
        row.setAttribute("role", "row");
      });
      walk(group.rows, function (cell, column, across) {
        if (group === table.tHead) {
          cell.setAttribute("role", "columnheader");
          return;
        }
        cell.setAttribute("role", cell.tagName === "TH" ? "rowheader" : "cell");
        var name = across === 1 ? names[column] : "";
        if (name) cell.setAttribute("data-label", name);
        else cell.removeAttribute("data-label");
      });
    });
  }

  function labelAll() {
    Array.prototype.forEach.call(document.querySelectorAll(TABLES), label);
  }

  labelAll();
  document.addEventListener("htmx:afterSwap", labelAll);

  function closeMenus(except) {
    Array.prototype.forEach.call(document.querySelectorAll("details.menu[open]"), function (menu) {
      if (menu !== except) menu.removeAttribute("open");
    });
  }

  document.addEventListener("click", function (event) {
    closeMenus(event.target instanceof Element ? event.target.closest("details.menu") : null);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") closeMenus(null);
  });
})();
