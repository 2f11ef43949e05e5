"""The console's own words in English, French and Spanish (the officer's account language).

Keys are the English text; a missing translation shows the English, and a test checks that
every string the templates use has both translations.
"""

from __future__ import annotations

from collections.abc import Callable

FR_ES: dict[str, tuple[str, str]] = {
    "Officer console": ("Console des chargés de communication", "Consola de los oficiales"),
    "Sign in": ("Se connecter", "Iniciar sesión"),
    "Sign out": ("Se déconnecter", "Cerrar sesión"),
    "Name": ("Identifiant", "Usuario"),
    "Password": ("Mot de passe", "Contraseña"),
    "Wrong name or password, or the account is disabled.": (
        "Identifiant ou mot de passe incorrect, ou compte désactivé.",
        "Usuario o contraseña incorrectos, o cuenta desactivada.",
    ),
    "Your session has ended. Sign in again.": (
        "Votre session a pris fin. Reconnectez-vous.",
        "Su sesión ha terminado. Inicie sesión de nuevo.",
    ),
    "Too many attempts. Wait a minute.": (
        "Trop de tentatives. Patientez une minute.",
        "Demasiados intentos. Espere un minuto.",
    ),
    "Your organisation's sign-in did not let you in. Try again, or use your password.": (
        "La connexion de votre organisation ne vous a pas admis. Réessayez, ou utilisez"
        " votre mot de passe.",
        "El inicio de sesión de su organización no le dejó entrar. Inténtelo de nuevo o use"
        " su contraseña.",
    ),
    "You are signed in with your organisation, but have no console account here.": (
        "Vous êtes connecté par votre organisation, mais n'avez pas de compte dans la console.",
        "Ha iniciado sesión con su organización, pero no tiene cuenta en la consola.",
    ),
    "Events": ("Événements", "Eventos"),
    "New event": ("Nouvel événement", "Nuevo evento"),
    "Subscribers": ("Abonnés", "Suscriptores"),
    "Type": ("Type", "Tipo"),
    "Author": ("Auteur", "Autor"),
    "State": ("État", "Estado"),
    "Since": ("Depuis", "Desde"),
    "Filter": ("Filtrer", "Filtrar"),
    "Title": ("Titre", "Título"),
    "Updated": ("Mis à jour", "Actualizado"),
    "No event matches.": ("Aucun événement ne correspond.", "Ningún evento coincide."),
    "Awaiting your approval": ("En attente de votre approbation", "Pendiente de su aprobación"),
    "Decisions on your events": ("Décisions sur vos événements", "Decisiones sobre sus eventos"),
    "Compose": ("Rédiger", "Redactar"),
    "Envelope": ("Enveloppe", "Sobre"),
    "Content": ("Contenu", "Contenido"),
    "Summary": ("Résumé", "Resumen"),
    "Body (Markdown)": ("Corps (Markdown)", "Cuerpo (Markdown)"),
    "Links (one per line: Title | https://…)": (
        "Liens (un par ligne : Titre | https://…)",
        "Enlaces (uno por línea: Título | https://…)",
    ),
    "Preview": ("Aperçu", "Vista previa"),
    "Save draft": ("Enregistrer le brouillon", "Guardar borrador"),
    "Check and dry run": ("Vérifier et simuler", "Comprobar y simular"),
    "Send me a test": ("M'envoyer un test", "Enviarme una prueba"),
    "Submit": ("Soumettre", "Enviar"),
    "Publish at (optional)": ("Publier le (facultatif)", "Publicar el (opcional)"),
    "Time zone": ("Fuseau horaire", "Zona horaria"),
    "Draft saved.": ("Brouillon enregistré.", "Borrador guardado."),
    "The event has problems:": ("L'événement a des problèmes :", "El evento tiene problemas:"),
    "Missing languages": ("Langues manquantes", "Idiomas que faltan"),
    "people will get a fallback language": (
        "personnes recevront une autre langue",
        "personas recibirán otro idioma",
    ),
    "No language is missing.": ("Aucune langue ne manque.", "No falta ningún idioma."),
    "Dry run": ("Simulation", "Simulación"),
    "recipients": ("destinataires", "destinatarios"),
    "deliveries": ("envois", "envíos"),
    "By channel": ("Par canal", "Por canal"),
    "By language": ("Par langue", "Por idioma"),
    "By classification": ("Par classification", "Por clasificación"),
    "Sample": ("Échantillon", "Muestra"),
    "Test sent to": ("Test envoyé à", "Prueba enviada a"),
    "The test could not be sent:": (
        "Le test n'a pas pu être envoyé :",
        "No se pudo enviar la prueba:",
    ),
    "Needs approval by a second officer:": (
        "Doit être approuvé par un second chargé :",
        "Necesita la aprobación de un segundo oficial:",
    ),
    "Approve": ("Approuver", "Aprobar"),
    "Decline": ("Refuser", "Rechazar"),
    "Comment": ("Commentaire", "Comentario"),
    "Cancel event": ("Annuler l'événement", "Cancelar el evento"),
    "Reschedule": ("Reprogrammer", "Reprogramar"),
    "Edit": ("Modifier", "Editar"),
    "History": ("Historique", "Historial"),
    "Delivery status": ("État des envois", "Estado de los envíos"),
    "Channel": ("Canal", "Canal"),
    "Language": ("Langue", "Idioma"),
    "planned": ("prévus", "previstos"),
    "sent": ("envoyés", "enviados"),
    "retrying": ("nouvel essai", "reintentando"),
    "failed": ("échoués", "fallidos"),
    "Publishes at": ("Publication le", "Se publica el"),
    "Embargoed until": ("Sous embargo jusqu'au", "Con embargo hasta"),
    "Pre-brief list": ("Liste de pré-information", "Lista de información previa"),
    "approved": ("approuvé", "aprobado"),
    "refused": ("refusé (non valide)", "rechazado (no válido)"),
    "Skip to content": ("Aller au contenu", "Ir al contenido"),
    "Separate values with commas": (
        "Séparez les valeurs par des virgules",
        "Separe los valores con comas",
    ),
    "draft": ("brouillon", "borrador"),
    "awaiting-approval": ("en attente d'approbation", "pendiente de aprobación"),
    "declined": ("refusé", "rechazado"),
    "scheduled": ("programmé", "programado"),
    "published": ("publié", "publicado"),
    "cancelled": ("annulé", "cancelado"),
    "Not allowed": ("Non autorisé", "No permitido"),
    "This page needs the officer role.": (
        "Cette page demande le rôle de chargé.",
        "Esta página requiere el rol de oficial.",
    ),
    "This page needs the editor role.": (
        "Cette page demande le rôle de rédacteur.",
        "Esta página requiere el rol de editor.",
    ),
    "Search": ("Rechercher", "Buscar"),
    "Email HTML": ("Courriel HTML", "Correo HTML"),
    "Email text": ("Courriel texte", "Correo texto"),
    "Telegram": ("Telegram", "Telegram"),
    "Newsletter item": ("Article de lettre", "Artículo del boletín"),
    "Back to the event": ("Retour à l'événement", "Volver al evento"),
    "Audit trail": ("Piste d'audit", "Registro de auditoría"),
    "live": ("en direct", "en directo"),
    "Standing": ("Statut", "Condición"),
    "Subscriptions": ("Abonnements", "Suscripciones"),
    "Export their data (JSON)": ("Exporter ses données (JSON)", "Exportar sus datos (JSON)"),
    "Erase this person": ("Effacer cette personne", "Borrar a esta persona"),
    "Erasure removes them everywhere and cannot be undone.": (
        "L'effacement les retire partout et ne peut pas être annulé.",
        "El borrado los elimina en todas partes y no se puede deshacer.",
    ),
    "Type their email address to confirm": (
        "Saisissez son adresse électronique pour confirmer",
        "Escriba su dirección de correo para confirmar",
    ),
    "Type the person's email address (or id) to confirm the erasure.": (
        "Saisissez l'adresse électronique (ou l'identifiant) de la personne pour confirmer.",
        "Escriba la dirección de correo (o el identificador) de la persona para confirmar.",
    ),
    "Erase": ("Effacer", "Borrar"),
    "Partners": ("Partenaires", "Socios"),
    "Pending partner-access requests": (
        "Demandes d'accès partenaire en attente",
        "Solicitudes de acceso de socio pendientes",
    ),
    "No request is waiting.": ("Aucune demande en attente.", "Ninguna solicitud pendiente."),
    "Partner organisations": ("Organisations partenaires", "Organizaciones socias"),
    "Organisation": ("Organisation", "Organización"),
    "Country": ("Pays", "País"),
    "Domains": ("Domaines", "Dominios"),
    "Erasure requested.": ("Effacement demandé.", "Borrado solicitado."),
    "Newsletters": ("Lettres d'information", "Boletines"),
    "Audience": ("Public", "Público"),
    "Schedule": ("Calendrier", "Calendario"),
    "Waiting items": ("Articles en attente", "Artículos en espera"),
    "Archive": ("Archives", "Archivo"),
    "The edition is being compiled and sent.": (
        "L'édition est en cours de compilation et d'envoi.",
        "La edición se está compilando y enviando.",
    ),
    "Next edition": ("Prochaine édition", "Próxima edición"),
    "Curation": ("Sélection", "Selección"),
    "Pin": ("Épingler", "Fijar"),
    "Leave out": ("Écarter", "Excluir"),
    "left out": ("écarté", "excluido"),
    "Order": ("Ordre", "Orden"),
    "No item is waiting.": ("Aucun article en attente.", "Ningún artículo en espera."),
    "Introduction": ("Introduction", "Introducción"),
    "Save curation": ("Enregistrer la sélection", "Guardar la selección"),
    "Send now": ("Envoyer maintenant", "Enviar ahora"),
    "Dead letters": ("Lettres mortes", "Cartas muertas"),
    "Sent back to their channel:": ("Renvoyées à leur canal :", "Devueltas a su canal:"),
    "Recipient": ("Destinataire", "Destinatario"),
    "Reason": ("Raison", "Motivo"),
    "Each goes back to its channel once; one that has gone out since is not sent again.": (
        "Chacune retourne une fois à son canal ; celle qui est partie depuis n'est pas renvoyée.",
        "Cada una vuelve una vez a su canal; la que ya salió no se envía de nuevo.",
    ),
    "Re-drive": ("Renvoyer", "Reenviar"),
    "No dead letter.": ("Aucune lettre morte.", "Ninguna carta muerta."),
    "When": ("Quand", "Cuándo"),
    "Who": ("Qui", "Quién"),
    "Action": ("Action", "Acción"),
    "Detail": ("Détail", "Detalle"),
}
LANGUAGES = ("en", "fr", "es")


def translator(language: str) -> Callable[[str], str]:
    """The function templates call as `_()`: the text in `language`, English if none."""
    column = {"fr": 0, "es": 1}.get(language)
    if column is None:
        return lambda text: text
    return lambda text: FR_ES.get(text, (text, text))[column]
