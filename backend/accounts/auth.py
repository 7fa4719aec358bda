from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request

from backend.accounts.models import User


def user_of(request: Request) -> User:
    """The authenticated user behind an API request (the views' permission already ensures
    there is one)."""
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticated()
    return user
