// Runs before the modules: until app.js is up, forms are not sent the browser's own way (which would
// reload the page), and if the modules never load the page says so instead of doing nothing.
"use strict";
document.addEventListener("submit", function (e) {
  if (document.documentElement.dataset.ready !== "true") e.preventDefault();
}, true);
window.setTimeout(function () {
  if (document.documentElement.dataset.ready === "true") return;
  var box = document.getElementById("page-error");
  if (!box) return;
  var title = document.createElement("p");
  title.className = "problem-title";
  title.textContent = "This page's scripts did not start";
  var detail = document.createElement("p");
  detail.className = "problem-detail";
  detail.textContent = "Reload the page; if it stays like this, this browser may not support JavaScript modules. "
    + "The API itself is documented at /docs.";
  box.replaceChildren(title, detail);
  box.hidden = false;
}, 8000);
