// The course book's only page script: draws interactive figures with the local plotly bundle,
// toggles large text for projectors, and opens the chapter menu on narrow screens. Pages read
// fine without it: math is pre-rendered and each figure shows its static SVG until plotly runs.
(function () {
  'use strict';
  var root = document.documentElement;

  // Large text, remembered across pages (the class is set before paint by an inline script).
  var fontToggle = document.querySelector('.font-toggle');
  function showLarge(on) {
    root.classList.toggle('large', on);
    if (fontToggle) fontToggle.setAttribute('aria-pressed', on ? 'true' : 'false');
  }
  showLarge(root.classList.contains('large'));
  if (fontToggle) {
    fontToggle.addEventListener('click', function () {
      var on = !root.classList.contains('large');
      showLarge(on);
      try {
        localStorage.setItem('ah-large', on ? '1' : '0');
      } catch (e) {
        // Private windows may refuse storage; the toggle still works for this page.
      }
      if (window.Plotly) {
        document.querySelectorAll('.plotly-figure.interactive').forEach(function (div) {
          window.Plotly.Plots.resize(div);
        });
      }
    });
  }

  // The chapter menu, on screens too narrow for the sidebar.
  var menuToggle = document.querySelector('.menu-toggle');
  var sidebar = document.getElementById('sidebar');
  if (menuToggle && sidebar) {
    menuToggle.addEventListener('click', function () {
      var open = !document.body.classList.contains('menu-open');
      document.body.classList.toggle('menu-open', open);
      menuToggle.setAttribute('aria-expanded', open ? 'true' : 'false');
    });
  }

  // Interactive figures: each container holds its static fallback until plotly has drawn it.
  var figures = document.querySelectorAll('.plotly-figure[data-figure]');
  if (figures.length === 0) return;
  if (!window.Plotly) {
    console.error(
      'The local plotly bundle (assets/plotly.min.js) did not load: figures stay static.',
    );
    return;
  }
  figures.forEach(function (div) {
    var fallback = div.innerHTML;
    function fail(why) {
      div.innerHTML = fallback;
      div.setAttribute('data-rendered', 'error');
      console.error('Figure ' + div.id + ' could not be drawn: ' + why);
    }
    var figure;
    try {
      figure = JSON.parse(document.getElementById(div.getAttribute('data-figure')).textContent);
    } catch (e) {
      fail('its data is not valid JSON (' + e.message + ')');
      return;
    }
    div.innerHTML = '';
    div.classList.add('interactive');
    // A figure wider than the text column (a notebook asked for a large width) is redrawn at the
    // column's width rather than running off the page.
    var layout = figure.layout || {};
    if (typeof layout.width === 'number' && layout.width > div.clientWidth && div.clientWidth > 0) {
      layout.width = div.clientWidth;
    }
    var config = {
      displaylogo: false,
      responsive: true,
      modeBarButtonsToRemove: ['sendDataToCloud'],
    };
    window.Plotly.newPlot(div, figure.data, layout, config).then(
      function () {
        div.setAttribute('data-rendered', 'true');
      },
      function (err) {
        fail(err && err.message ? err.message : String(err));
      },
    );
  });
})();
