"""Repository tooling, not part of the tutorial's API.

- :mod:`helpers.devtools.book`     the tutorial as a website (``make book``, ``make linkcheck``)
- :mod:`helpers.devtools.images`   the figures in ``images/`` (``make images``)
- :mod:`helpers.devtools.mdsections` sections of Markdown files, for the website's pages
- :mod:`helpers.devtools.nbtools`  strip notebook outputs except the checked ones
- :mod:`helpers.devtools.tutorial` execute every notebook headless (``make tutorial``)
"""
