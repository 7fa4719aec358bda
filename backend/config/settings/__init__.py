"""Settings modules: ``base`` (shared), ``dev``, ``test`` and ``prod``.

Choose one with DJANGO_SETTINGS_MODULE.
"""
