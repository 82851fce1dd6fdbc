"""The browser UI: static assets and the route that serves them."""
