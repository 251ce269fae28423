"""`flask shop backup` and `flask shop restore`: consistent archives of the database and the media folder."""
import click


@click.command("backup")
def backup_command() -> None:
    """Write a backup archive of the database and the media folder."""
    raise click.ClickException("not built yet")


@click.command("restore")
def restore_command() -> None:
    """Replace the database and the media folder with a backup archive's."""
    raise click.ClickException("not built yet")
