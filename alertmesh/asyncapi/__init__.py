"""The AsyncAPI 3.0 document of every alertmesh topic (``asyncapi.yaml``): who writes and reads each topic, its
key, its headers and its message schema (the checked-in files in ``schemas/json``). ``alertmesh asyncapi`` writes
it; ``alertmesh asyncapi --check`` says whether the checked-in file is current."""
