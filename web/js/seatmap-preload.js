// The seat map is the page's biggest download (about 7 MB for 100,000
// seats): start it now, while the modules below load. event.js takes it.
// A classic script of its own rather than inline: the pages' CSP allows no
// inline script.
(function () {
    var id = new URLSearchParams(location.search).get('id');
    if (id && window.fetch) window.boxofficeSeatmap = fetch('/api/v1/events/' + encodeURIComponent(id) + '/seatmap?format=columns').catch(function () { return null; });
})();
