"""Qt user interface. Imports the engine; the engine never imports this package."""
