// Draws every chart of the page from the figure the server put in its data-figure attribute.
document.querySelectorAll(".plot[data-figure]").forEach(function (element) {
  var figure = JSON.parse(element.dataset.figure);
  var layout = Object.assign({ margin: { t: 24, r: 16, b: 48, l: 56 }, height: 300,
    font: { family: "system-ui, 'Noto Sans CJK SC', 'PingFang SC', sans-serif", size: 12 } },
    figure.layout || {});
  Plotly.newPlot(element, figure.data, layout, { displaylogo: false, responsive: true });
});
// Live count of an audience while its conditions are edited.
document.querySelectorAll("form[data-count-url]").forEach(function (form) {
  var output = document.getElementById(form.dataset.countTarget);
  var timer = null;
  function refresh() {
    fetch(form.dataset.countUrl, { method: "POST", body: new FormData(form),
      headers: { "x-csrf-token": form.querySelector("[name=csrf_token]").value } })
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response); })
      .then(function (answer) { output.textContent = answer.text; })
      .catch(function () { output.textContent = "?"; });
  }
  form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(refresh, 300); });
  refresh();
});
