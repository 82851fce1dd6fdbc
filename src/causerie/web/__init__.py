"""The browser UI: static assets (plain ES modules, CSS and vendored npm libraries) and the
routes that serve them; `headers.SecurityHeaders` puts the Content-Security-Policy on
every response. Nothing here is built at import time."""
