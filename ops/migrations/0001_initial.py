from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="RateLimitBucket",
            fields=[
                ("client", models.CharField(max_length=64, primary_key=True, serialize=False)),
                ("tokens", models.FloatField()),
                ("updated", models.DateTimeField()),
                ("allowed", models.BooleanField()),
            ],
        ),
        migrations.CreateModel(
            name="WorkerHeartbeat",
            fields=[
                ("worker", models.CharField(max_length=200, primary_key=True, serialize=False)),
                ("seen", models.DateTimeField()),
            ],
        ),
        # Written on every request: no WAL for them (ops.models says why that is safe).
        migrations.RunSQL(
            "ALTER TABLE ops_ratelimitbucket SET UNLOGGED;"
            " ALTER TABLE ops_workerheartbeat SET UNLOGGED;",
            "ALTER TABLE ops_ratelimitbucket SET LOGGED;"
            " ALTER TABLE ops_workerheartbeat SET LOGGED;",
        ),
    ]
