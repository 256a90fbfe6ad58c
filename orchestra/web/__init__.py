"""The web dashboard of `orchestra serve`: server.py (HTTP, auth, routing), api.py (the JSON
over the workspaces), live.py (the event stream), actions.py (CLI commands run for the page),
and the page itself: index.html, app.js, style.css."""
