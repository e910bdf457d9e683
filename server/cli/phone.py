"""The phone line: the terminal simulator, consent to calls, reminder rounds."""

from __future__ import annotations

import click

from server import phones, settings
from server.cli.base import Context, emit, fail, format_option, plural, with_db
from server.consent import set_consent


@click.group("ivr")
def ivr_group() -> None:
    """The phone line: simulator and consent to calls.

    \b
    Example:
      paperbridge ivr simulate --from +8613812345678
    """


@ivr_group.command("simulate")
@click.option("--from", "from_number", default="+8613800000000", show_default=True,
              help="The caller's number (a guardian's number is recognised).")
@click.option("--speak/--no-speak", default=True, help="Speak prompts with espeak-ng when it is installed.")
@with_db
def ivr_simulate(ctx: Context, from_number: str, speak: bool) -> None:
    """Call the phone line from the terminal: hear the prompts, type keys. No Twilio account needed.

    \b
    Example:
      paperbridge ivr simulate --from +8613812345678
    """
    from ivr.simulator import interactive  # start-up speed: the web stack loads only for the simulator
    from server.app import create_app  # start-up speed: the web stack loads only for the simulator

    ctx.db()
    interactive(create_app({"DATABASE": str(ctx.path)}), from_number, speak)


@ivr_group.command("consent")
@click.argument("phone")
@click.option("--yes/--no", "consent", required=True, help="Whether this number's owner agrees to reminder calls.")
@click.option("--note", default="", help="Who agreed and how, e.g. 'grandmother, by phone, 2026-11-20'.")
@with_db
def ivr_consent(ctx: Context, phone: str, consent: bool, note: str) -> None:
    """Record consent to automated reminder calls for one number (given by that number's owner).

    \b
    Example:
      paperbridge ivr consent +8613812345678 --yes --note "grandmother, by phone, 2026-11-20"
    """
    db = ctx.db()
    number = phones.normalize(phone, settings.get(db, "default_region"))
    if not number.valid:
        raise fail(ValueError(f"{phone} is not a valid phone number"))
    try:
        set_consent(db, number.e164 or phone, consent, note)
    except ValueError as exc:
        raise fail(exc) from None
    click.echo(f"{number.e164}: reminder calls {'allowed' if consent else 'not allowed'}.")


@click.group("followup")
def followup_group() -> None:
    """Reminders for notices that stay unconfirmed.

    \b
    Example:
      paperbridge followup run
    """


@followup_group.command("run")
@format_option
@with_db
def followup_run(ctx: Context, fmt: str) -> None:
    """One round of reminders for every unconfirmed family: a text to a mobile, or a call with
    consent; families with neither are listed for their teacher (channel `teacher`). Without
    Twilio credentials it is a dry run: logged, not sent, and not counted as real attempts.

    \b
    Example:
      paperbridge followup run --format csv >> reminders.csv
    """
    from ivr import config, followup  # start-up speed: Twilio's library loads only for the phone commands

    db = ctx.db()
    sent = followup.run(db)
    rows = [{"family": a.family_code, "notice": a.notice_id, "phone": phones.mask(a.phone), "channel": a.channel,
             "sid": a.sid} for a in sent]
    emit(rows, ["family", "notice", "phone", "channel", "sid"], fmt)
    if fmt == "table":
        mode = "sent through Twilio" if config.load(db).live else "dry run: logged in the outbox, nothing sent"
        contacted = [a for a in sent if a.channel != "teacher"]
        click.echo(plural("%(n)s reminder", "%(n)s reminders", len(contacted)) + f" ({mode}).")
        if len(sent) > len(contacted):
            click.echo(plural("%(n)s family has no number to text or call: left to its teacher's chase list.",
                              "%(n)s families have no number to text or call: left to their teachers' chase lists.",
                              len(sent) - len(contacted)))
