"""CloudFormation and the CDK provider framework, replayed: a cloud assembly read as the CLI reads
it (``assembly``), a deploy / destroy / rollback of its stacks (``replay``, ``deploy``, ``destroy``,
``rollback``, ``session``, ``state``, ``results``), the custom resources' provider framework
(``provider``) on a deterministic scheduler (``scheduler``), a DescribeStacks endpoint the handler
reads (``endpoint``), and the DataZone resources an app creates itself (``datazone_resources``,
``provision``, ``control``)."""
