import factory

from accounts.models import User

PASSWORD = "correct-horse-battery"  # noqa: S105 (test accounts only)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"shopper{n}@example.com")
    password = factory.django.Password(PASSWORD)
