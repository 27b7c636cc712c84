from django.db import models


class Order(models.Model):
    batch = models.IntegerField(help_text="The load transaction that wrote it.")
    total = models.DecimalField(max_digits=10, decimal_places=2)
    status = models.CharField(max_length=20, default="new")
    placed_at = models.DateTimeField(auto_now_add=True)


class Customer(models.Model):
    email = models.EmailField()
    name = models.CharField(max_length=100)
