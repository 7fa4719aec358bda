from rest_framework import serializers


class DataExportSerializer(serializers.Serializer):
    account = serializers.DictField()
    driver_profile = serializers.DictField(allow_null=True)
    delivery_requests = serializers.ListField(child=serializers.DictField())
    trips = serializers.ListField(child=serializers.DictField())
    offers = serializers.ListField(child=serializers.DictField())
    ratings_given = serializers.ListField(child=serializers.DictField())
    ratings_received = serializers.ListField(child=serializers.DictField())
    earnings = serializers.ListField(child=serializers.DictField())
