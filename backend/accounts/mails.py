"""The mails the accounts app sends, in the account's language (English or French), through
Django's e-mail backend (``EMAIL_BACKEND``: console in dev, locmem in tests, SMTP in prod).

A mail goes once the caller's transaction commits, and a failure to send is logged, never raised:
the answer to the request must not depend on the mail server (nor tell anything by failing).
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mail:
    subject: str
    body: str


_TEXTS: dict[str, dict[str, Mail]] = {
    "welcome": {
        "en": Mail(
            "Welcome to Parcels",
            "Your account is ready: log in to the app with this e-mail address and the password "
            "you chose.\n\nIf you did not create it, reset the password from the app's "
            '"Forgot your password?" (POST /api/v1/auth/password/reset/) and tell us.',
        ),
        "fr": Mail(
            "Bienvenue sur Parcels",
            "Votre compte est prêt : connectez-vous dans l'application avec cette adresse et le "
            "mot de passe choisi.\n\nSi vous ne l'avez pas créé, réinitialisez le mot de passe "
            "(« Mot de passe oublié ? », POST /api/v1/auth/password/reset/) et prévenez-nous.",
        ),
    },
    "already_registered": {
        "en": Mail(
            "You already have a Parcels account",
            "Someone, perhaps you, just tried to create an account with this e-mail address. "
            "You already have an account: nothing was changed.\n\nForgot your password? Ask for "
            'a new one from the app\'s "Forgot your password?" (POST '
            "/api/v1/auth/password/reset/). If it was not you, you can ignore this mail.",
        ),
        "fr": Mail(
            "Vous avez déjà un compte Parcels",
            "Quelqu'un, peut-être vous, vient d'essayer de créer un compte avec cette adresse. "
            "Vous avez déjà un compte : rien n'a changé.\n\nMot "
            "de passe oublié ? Demandez-en un nouveau depuis l'application (POST "
            "/api/v1/auth/password/reset/). Si ce n'était pas vous, ignorez ce message.",
        ),
    },
    "password_reset": {
        "en": Mail(
            "Reset your Parcels password",
            "To choose a new password, open this link on your phone:\n\n{link}\n\nor enter "
            "these in the app:\n  uid: {uid}\n  token: {token}\n\nThe link works once, for "
            "{hours} hour(s). If you did not ask for it, ignore this mail: your password stays "
            "as it is.",
        ),
        "fr": Mail(
            "Réinitialiser votre mot de passe Parcels",
            "Pour choisir un nouveau mot de passe, ouvrez ce lien sur votre téléphone :\n\n"
            "{link}\n\nou saisissez dans l'application :\n  uid : {uid}\n  token : {token}\n\n"
            "Le lien sert une fois, pendant {hours} heure(s). Si vous n'avez rien demandé, "
            "ignorez ce message : votre mot de passe ne change pas.",
        ),
    },
    "password_changed": {
        "en": Mail(
            "Your Parcels password was changed",
            "The password of your account was just changed, and every device was logged out. "
            "If it was not you, reset it now from the app (POST /api/v1/auth/password/reset/).",
        ),
        "fr": Mail(
            "Votre mot de passe Parcels a changé",
            "Le mot de passe de votre compte vient de changer, et tous les appareils ont été "
            "déconnectés. Si ce n'était pas vous, réinitialisez-le depuis l'application (POST "
            "/api/v1/auth/password/reset/).",
        ),
    },
}


def mail_on_commit(*, kind: str, to: str, language: str, **values: object) -> None:
    """Send the ``kind`` mail to ``to`` once the current transaction commits."""
    texts = _TEXTS[kind]
    text = texts.get(language, texts["en"])
    subject, body = text.subject, text.body.format(**values)

    def send() -> None:
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])
        except Exception:  # the mail server's trouble is logged, never the client's answer
            logger.exception("account mail not sent", extra={"kind": kind})

    transaction.on_commit(send)
