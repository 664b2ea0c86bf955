from flask import Blueprint

blueprint = Blueprint("web", __name__)
