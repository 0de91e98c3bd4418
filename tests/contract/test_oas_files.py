"""Zoho's OpenAPI files are in the repository, so the contract tests run on any clone; only the needed ones."""

from __future__ import annotations

from tests.contract import oas


def test_the_files_the_contract_tests_load_are_all_in_the_repository() -> None:
    kept = {path.name for path in oas.SPEC_DIR.iterdir() if path.suffix in (".json", ".yaml")}
    assert kept == set(oas.FILES.values())  # nothing missing, nothing kept that no test loads


def test_each_file_is_listed_in_the_folders_readme_by_its_title() -> None:
    readme = (oas.SPEC_DIR / "README.md").read_text()
    for name in oas.FILES:
        title = oas.document(name)["info"]["title"]
        assert f"| `{name}` | {title} |" in readme, name
