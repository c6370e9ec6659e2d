{# The model has exactly one row (a data-set-level model such as int_date_information). #}
{% test one_row(model) %}
select count(*) as rows_found from {{ model }} having count(*) != 1
{% endtest %}
