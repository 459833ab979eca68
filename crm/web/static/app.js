// Progressive enhancement only: every page works without it.
// A form with data-confirm asks before it posts (a redrive may send a mail again).
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
