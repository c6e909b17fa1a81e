from django.db.models import QuerySet
from django.http import Http404

from notifications.models import ChatDestination


def chat_destinations_active() -> QuerySet[ChatDestination]:
    return ChatDestination.objects.filter(is_active=True).select_related("product", "created_by")


def chat_destination_get(*, pk: int) -> ChatDestination:
    destination = chat_destinations_active().filter(pk=pk).first()
    if destination is None:
        raise Http404("No such chat channel.")
    return destination
