"""Package list for setuptools; the rest of the metadata is in pyproject.toml.

The shipped data lives in the top-level ``resources/`` folder and is installed as the
package ``optipfair_desktop.resources``, which ``engine/resources.py`` reads.
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["optipfair_desktop", "optipfair_desktop.*"]) + ["optipfair_desktop.resources"],
    package_dir={"optipfair_desktop.resources": "resources"},
    package_data={"optipfair_desktop.resources": ["*/*", "*/*/*"]},
)
