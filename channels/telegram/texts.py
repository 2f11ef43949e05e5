"""What the Telegram bot says, in each working language (Telegram HTML)."""

from __future__ import annotations

TOPIC_LABELS: dict[str, dict[str, str]] = {
    "announcement.published": {
        "en": "Institutional announcements",
        "fr": "Annonces institutionnelles",
        "es": "Anuncios institucionales",
    },
    "research.released": {
        "en": "Research releases",
        "fr": "Publications de recherche",
        "es": "Publicaciones de investigación",
    },
}

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "language_name": "English",
        "help": (
            "I send you the Organization's news.\n\n/topics choose topics"
            "\n/language change language\n/subscribe receive news here"
            "\n/unsubscribe stop news here\n/stop unlink this chat"
        ),
        "start_without_link": (
            "To receive news here, open the Telegram link from your preference centre"
            " (the link at the bottom of our emails)."
        ),
        "not_linked": "This chat is not linked yet: open the Telegram link from your preferences.",
        "linked": "Welcome, {name}! You will receive our news here. /topics to choose topics.",
        "subscribed": "You will receive our news here.",
        "stopped": "You will not receive news here any more. /subscribe to start again.",
        "topics": "Tap a topic to follow or unfollow it:",
        "language": "Choose your language:",
        "language_set": "Language set to English.",
    },
    "fr": {
        "language_name": "Français",
        "help": (
            "Je vous envoie l’actualité de l’Organisation.\n\n/topics choisir les thèmes"
            "\n/language changer de langue\n/subscribe recevoir les nouvelles ici"
            "\n/unsubscribe ne plus les recevoir ici\n/stop délier cette conversation"
        ),
        "start_without_link": (
            "Pour recevoir l’actualité ici, ouvrez le lien Telegram de votre centre de"
            " préférences (en bas de nos courriels)."
        ),
        "not_linked": "Cette conversation n’est pas encore liée : ouvrez le lien Telegram de vos"
        " préférences.",
        "linked": "Bienvenue, {name} ! Vous recevrez notre actualité ici. /topics pour choisir.",
        "subscribed": "Vous recevrez notre actualité ici.",
        "stopped": "Vous ne recevrez plus d’actualité ici. /subscribe pour recommencer.",
        "topics": "Touchez un thème pour le suivre ou ne plus le suivre :",
        "language": "Choisissez votre langue :",
        "language_set": "Langue : français.",
    },
    "es": {
        "language_name": "Español",
        "help": (
            "Le envío las noticias de la Organización.\n\n/topics elegir temas"
            "\n/language cambiar de idioma\n/subscribe recibir noticias aquí"
            "\n/unsubscribe dejar de recibirlas aquí\n/stop desvincular este chat"
        ),
        "start_without_link": (
            "Para recibir noticias aquí, abra el enlace de Telegram de su centro de"
            " preferencias (al pie de nuestros correos)."
        ),
        "not_linked": "Este chat aún no está vinculado: abra el enlace de Telegram de sus"
        " preferencias.",
        "linked": "¡Bienvenido/a, {name}! Recibirá nuestras noticias aquí. /topics para elegir.",
        "subscribed": "Recibirá nuestras noticias aquí.",
        "stopped": "Ya no recibirá noticias aquí. /subscribe para volver a empezar.",
        "topics": "Toque un tema para seguirlo o dejar de seguirlo:",
        "language": "Elija su idioma:",
        "language_set": "Idioma: español.",
    },
}
