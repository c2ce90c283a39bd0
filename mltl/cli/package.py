"""`mltl package`: a model directory as a pip-installable wheel."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("package")
    def package(
        model: Path = typer.Argument(..., help="Model directory (e.g. models/de/model-best)."),
        output: Path = typer.Option(..., "--output", "-o", help="Directory for the wheel (e.g. dist/)."),
        name: str = typer.Option(..., "--name", "-n", help="Package name: lowercase, digits, _ (e.g. mltl_de_ner)."),
        version: str = typer.Option("0.1.0", "--version", help="Package version."),
        license_text: Optional[str] = typer.Option(
            None, "--license", help="Licence of the model (it inherits the training data's: say which)."
        ),
        force: bool = typer.Option(False, "--force", help="Replace an existing wheel of that name and version."),
    ) -> None:
        """Build a wheel holding the model and its card; once installed, `mltl predict --model NAME` and
        spaCy's `nlp.add_pipe("mltl", config={"model": NAME})` load it by name.

        Example: mltl package models/de/model-best -o dist/ --name mltl_de_ner --version 1.0.0
        """
        from mltl.packaging import package_model

        wheel = package_model(model, output, name, version, license_text=license_text, force=force)
        typer.echo(f"{wheel}: pip install {wheel}")
