from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from api.services import DEFAULT_TOKEN_DAYS, service_account_create
from approvals.models import Product


class Command(BaseCommand):
    help = (
        "Create a service account for a pipeline and print its API token once on standard "
        "output (nothing else goes there). The token is stored hashed and cannot be shown again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="account name: letters, digits, hyphens, underscores")
        parser.add_argument(
            "--products",
            required=True,
            help="comma-separated product slugs the token may act on",
        )
        parser.add_argument(
            "--days",
            type=int,
            default=DEFAULT_TOKEN_DAYS,
            help=f"days until the token expires (default {DEFAULT_TOKEN_DAYS})",
        )
        parser.add_argument(
            "--changelog",
            action="store_true",
            help="also allow reading the whole change log (GET /api/v1/changelog/)",
        )
        parser.add_argument("--description", default="", help="what the account is for")

    def handle(self, *args, **options) -> None:
        slugs = [slug.strip() for slug in options["products"].split(",") if slug.strip()]
        products = list(Product.objects.filter(slug__in=slugs))
        unknown = sorted(set(slugs) - {product.slug for product in products})
        if unknown:
            raise CommandError(f"Unknown products: {', '.join(unknown)}")
        try:
            account, issued = service_account_create(
                name=options["name"],
                products=products,
                actor=None,
                days=options["days"],
                description=options["description"],
                can_read_changelog=options["changelog"],
            )
        except ValidationError as error:
            raise CommandError(
                " ".join(f"{field}: {' '.join(msgs)}" for field, msgs in error.message_dict.items())
            ) from None
        self.stderr.write(
            f"Created {account} for {', '.join(sorted(p.slug for p in products))}; "
            f"token {issued.record.prefix}… expires {issued.record.expires_at:%Y-%m-%d %H:%M} UTC. "
            "It is printed once, below."
        )
        self.stdout.write(issued.token)
