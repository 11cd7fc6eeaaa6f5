"""What intake tells a person, in their language (fr, nl, de).

Refusals name each field with its label as the form shows it and say how to fix it.
English is used only when the form's language is unknown (a bad `lang` field).
"""

from __future__ import annotations

from html import escape

LANGS = ("fr", "nl", "de", "en")

LABELS: dict[str, dict[str, str]] = {
    "first_name": {"fr": "Prénom", "nl": "Voornaam", "de": "Vorname", "en": "First name"},
    "last_name": {"fr": "Nom", "nl": "Achternaam", "de": "Nachname", "en": "Last name"},
    "email": {"fr": "Adresse e-mail", "nl": "E-mailadres", "de": "E-Mail-Adresse",
              "en": "Email address"},
    "phone": {"fr": "Numéro de téléphone", "nl": "Telefoonnummer", "de": "Telefonnummer",
              "en": "Phone number"},
    "postcode": {"fr": "Code postal", "nl": "Postcode", "de": "Postleitzahl",
                 "en": "Postcode"},
    "consent": {"fr": "Consentement", "nl": "Toestemming", "de": "Einwilligung",
                "en": "Consent"},
    "message": {"fr": "Message", "nl": "Bericht", "de": "Nachricht", "en": "Message"},
    "help": {"fr": "Comment aider", "nl": "Hoe helpen", "de": "Wie helfen", "en": "How to help"},
    "availability": {"fr": "Disponibilités", "nl": "Beschikbaarheid",
                     "de": "Verfügbarkeit", "en": "Availability"},
    "lang": {"fr": "Langue", "nl": "Taal", "de": "Sprache", "en": "Language"},
    "source": {"fr": "Page", "nl": "Pagina", "de": "Seite", "en": "Page"},
}  # fmt: skip

PROBLEMS: dict[str, dict[str, str]] = {
    "required": {
        "fr": "ce champ est obligatoire.",
        "nl": "dit veld is verplicht.",
        "de": "dieses Feld ist erforderlich.",
        "en": "this field is required.",
    },
    "email": {
        "fr": "ce n'est pas une adresse e-mail (exemple : nom@exemple.be).",
        "nl": "dit is geen e-mailadres (voorbeeld: naam@voorbeeld.be).",
        "de": "das ist keine E-Mail-Adresse (Beispiel: name@beispiel.be).",
        "en": "this is not an email address (example: name@example.be).",
    },
    "phone": {
        "fr": "ce n'est pas un numéro de téléphone (exemple : 0470 12 34 56 ou +32 470 12 34 56).",
        "nl": "dit is geen telefoonnummer (voorbeeld: 0470 12 34 56 of +32 470 12 34 56).",
        "de": "das ist keine Telefonnummer (Beispiel: 0470 12 34 56 oder +32 470 12 34 56).",
        "en": "this is not a phone number (example: 0470 12 34 56 or +32 470 12 34 56).",
    },
    "postcode": {
        "fr": "ce n'est pas un code postal (exemple : {example}).",
        "nl": "dit is geen postcode (voorbeeld: {example}).",
        "de": "das ist keine Postleitzahl (Beispiel: {example}).",
        "en": "this is not a postcode (example: {example}).",
    },
    "too_long": {
        "fr": "ce texte est trop long ({limit} caractères au plus).",
        "nl": "deze tekst is te lang (hoogstens {limit} tekens).",
        "de": "dieser Text ist zu lang (höchstens {limit} Zeichen).",
        "en": "this text is too long (at most {limit} characters).",
    },
    "control": {
        "fr": "ce texte contient des caractères invisibles : retapez-le.",
        "nl": "deze tekst bevat onzichtbare tekens: typ hem opnieuw.",
        "de": "dieser Text enthält unsichtbare Zeichen: bitte neu eingeben.",
        "en": "this text contains invisible characters: type it again.",
    },
    "formula": {
        "fr": "ne commencez pas par = + - ou @.",
        "nl": "begin niet met = + - of @.",
        "de": "bitte nicht mit = + - oder @ beginnen.",
        "en": "do not start with = + - or @.",
    },
    "consent": {
        "fr": "cochez la case pour nous autoriser à vous recontacter.",
        "nl": "vink het vakje aan zodat we je mogen contacteren.",
        "de": "kreuzen Sie das Feld an, damit wir Sie kontaktieren dürfen.",
        "en": "tick the box so that we may contact you.",
    },
    "choice": {
        "fr": "choisissez parmi les options proposées.",
        "nl": "kies uit de voorgestelde opties.",
        "de": "wählen Sie aus den angebotenen Optionen.",
        "en": "choose among the options offered.",
    },
    "unknown": {
        "fr": "ce champ ne fait pas partie du formulaire.",
        "nl": "dit veld hoort niet bij het formulier.",
        "de": "dieses Feld gehört nicht zum Formular.",
        "en": "this field is not part of the form.",
    },
    "repeated": {
        "fr": "ce champ est envoyé plusieurs fois.",
        "nl": "dit veld is meermaals verstuurd.",
        "de": "dieses Feld wurde mehrfach gesendet.",
        "en": "this field was sent more than once.",
    },
}

PAGE: dict[str, dict[str, str]] = {
    "invalid_title": {
        "fr": "Le formulaire n'est pas complet",
        "nl": "Het formulier is niet volledig",
        "de": "Das Formular ist nicht vollständig",
        "en": "The form is not complete",
    },
    "invalid_lead": {
        "fr": "Rien n'a été enregistré. Corrigez ces champs puis envoyez à nouveau :",
        "nl": "Er is niets opgeslagen. Verbeter deze velden en verstuur opnieuw:",
        "de": "Es wurde nichts gespeichert. Korrigieren Sie diese Felder und senden Sie erneut:",
        "en": "Nothing was saved. Fix these fields, then send again:",
    },
    "back": {"fr": "Retour au formulaire", "nl": "Terug naar het formulier",
             "de": "Zurück zum Formular", "en": "Back to the form"},
    "colon": {"fr": " :", "nl": ":", "de": ":", "en": ":"},
}  # fmt: skip

# Refusals that are not about one field: one text in every language, since the form's
# language may not be known (or trusted) yet.
GENERAL: dict[int, str] = {
    403: "Formulaire refusé : il n'a pas été envoyé depuis un site du réseau. · "
    "Formulier geweigerd: het is niet verstuurd vanaf een site van het netwerk. · "
    "Formular abgelehnt: es wurde nicht von einer Seite des Netzwerks gesendet. · "
    "Form refused: it was not sent from a site of the network.",
    404: "Site inconnu. · Onbekende site. · Unbekannte Seite. · Unknown site.",
    405: "Méthode non autorisée. · Methode niet toegestaan. · Methode nicht erlaubt. · "
    "Method not allowed.",
    413: "Formulaire trop volumineux (16 Ko au plus). · Formulier te groot (hoogstens 16 KB). · "
    "Formular zu groß (höchstens 16 KB). · Form too large (16 KB at most).",
    415: "Format non pris en charge : envoyez le formulaire tel quel. · "
    "Formaat niet ondersteund. · Format nicht unterstützt. · Unsupported format: send the form as "
    "application/x-www-form-urlencoded.",
    429: "Trop d'envois : réessayez dans une minute. · Te veel verzendingen: probeer over een "
    "minuut opnieuw. · Zu viele Sendungen: versuchen Sie es in einer Minute erneut. · "
    "Too many submissions: try again in a minute.",
    400: "Formulaire illisible. · Onleesbaar formulier. · Unlesbares Formular. · Unreadable form.",
    503: "Enregistrement impossible pour l'instant : réessayez dans une minute. · "
    "Opslaan lukt nu niet: probeer over een minuut opnieuw. · "
    "Speichern gerade nicht möglich: versuchen Sie es in einer Minute erneut. · "
    "Cannot save right now: try again in a minute.",
    410: "Ce lien est inconnu, déjà utilisé ou expiré : inscrivez-vous à nouveau. · "
    "Deze link is onbekend, al gebruikt of verlopen: schrijf je opnieuw in. · "
    "Dieser Link ist unbekannt, schon benutzt oder abgelaufen: bitte erneut anmelden. · "
    "This link is unknown, already used or expired: sign up again.",
}


def problem_text(code: str, lang: str, limit: int = 0, example: str = "") -> str:
    texts = PROBLEMS[code]
    return texts.get(lang, texts["en"]).format(limit=limit, example=example or "1000")


def label(field: str, lang: str) -> str:
    texts = LABELS.get(field)
    return texts.get(lang, texts["en"]) if texts else field


def general_page(status: int) -> bytes:
    """A small page for a refusal that is not about one field."""
    text = escape(GENERAL[status])
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>'
        f"{status}</title></head><body><p>{text}</p></body></html>\n"
    ).encode()
