"""`flask shop check`: one OK/WARN/FAIL line per thing a production shop needs."""
import click


@click.command("check")
def check_command() -> None:
    """Check the configuration and the environment; exit non-zero when anything fails."""
    raise click.ClickException("not built yet")
