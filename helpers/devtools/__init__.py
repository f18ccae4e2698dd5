"""Repository tooling, not part of the tutorial's API.

- :mod:`helpers.devtools.images`   the figures in ``images/`` (``make images``)
- :mod:`helpers.devtools.nbtools`  strip notebook outputs except the checked ones
- :mod:`helpers.devtools.tutorial` execute every notebook headless (``make tutorial``)
"""
