-- wrk script: POST /v1/assess with a typical description (about 25 words).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"text": "I get a sudden painful cramp in my calf at night, about twice a week. It eases when I stretch my foot."}'
