"""The Knowledge Hub search page: a static page (``ui/static/``) that calls the HTTP API.

Downstream of ``api/``: it uses the API's JSON (``/search``, ``/facets``, ``/ask``) and
nothing else; :func:`khub.ui.site.create_site` serves it beside the API.
"""
