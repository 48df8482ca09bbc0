"""Package layout that pyproject.toml alone cannot say: the top-level `content/` and `locales/`
folders ship inside the wheel as the data packages `doorstep_content` and `doorstep_locales`,
so an installed Doorstep finds its sample district, tips, schedules and catalogs without a
checkout. Everything else is in pyproject.toml."""

from setuptools import find_namespace_packages, setup


def data_packages(name: str, folder: str) -> list[str]:
    """The data package and its subfolders (listed so setuptools ships them as packages)."""
    subs = find_namespace_packages(where=folder, exclude=["*__pycache__*"])
    return [name, *(f"{name}.{sub}" for sub in subs)]


setup(
    packages=[
        # Namespace-aware: some folders (bot/storage) have no __init__.py.
        *find_namespace_packages(
            include=["bot", "bot.*", "handlers", "handlers.*"], exclude=["*__pycache__*"]
        ),
        *data_packages("doorstep_content", "content"),
        *data_packages("doorstep_locales", "locales"),
    ],
    package_dir={"doorstep_content": "content", "doorstep_locales": "locales"},
)
