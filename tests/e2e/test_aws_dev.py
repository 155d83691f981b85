"""`herd dev aws`: a moto server a user can point the AWS provider at, with CAPA-named AMIs to look up."""

from __future__ import annotations

import signal

from support.herd_up import Process

from herd.providers.aws.services.clients import make_clients
from herd.providers.aws.services.images import find_image, image_name
from herd.providers.aws.services.scope import AWSScope


def test_herd_dev_aws_serves_aws_with_amis_to_look_up_until_interrupted() -> None:
    process = Process("dev", "aws")
    try:
        url = process.wait_for(r"^export AWS_ENDPOINT_URL=(\S+)").group(1)
        process.wait_for(r"^then: herd up --provider herd\.providers\.aws\.provider:provider")
        clients = make_clients("us-east-1", endpoint_url=url,
                               credentials={"AccessKeyID": "testing", "SecretAccessKey": "testing"})
        scope = AWSScope(clients, "try")
        newest = find_image(scope, None, None, None, None, "v1.33.1", "x86_64")
        images = clients.ec2.describe_images(Filters=[{"Name": "name", "Values": [
            image_name(None, None, "v1.33.1")]}, {"Name": "owner-id", "Values": ["819546954734"]}])["Images"]
        assert len(images) == 2
        assert newest.id == max(images, key=lambda image: image["CreationDate"])["ImageId"]
    finally:
        assert process.stop(signal.SIGINT) == 0, "".join(process.lines)
