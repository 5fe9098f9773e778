"""attnkit: attention-based models, from the mechanism to the served model.

The public entry points live in the subpackages; see ``README.md`` for the map.
"""

__version__ = "0.1.0"
