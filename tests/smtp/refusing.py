"""An aiosmtpd handler that keeps mail in a maildir, as aiosmtpd.handlers.Mailbox does, but refuses
every recipient whose local part starts with "bounce" (550), as a mail server refuses an
address that does not exist."""

from aiosmtpd.handlers import Mailbox


class Refusing(Mailbox):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().startswith("bounce"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"
