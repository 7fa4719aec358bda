"""Route-detour optimisation core for occasional drivers. Pure Python: never imports Django."""
